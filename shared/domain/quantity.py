"""The numbers of an SKP: an indicator's target, an action plan's planned value, an entry's
realised value.

Neither PermenPANRB 6/2022 nor the agency rules put a ceiling on them, so the kit sets one
that every real indicator stays under and no sum of them can overflow: MAX_QUANTITY, a
thousand trillion (10^15). The largest quantities an SKP counts are rupiah (a BIAYA aspect:
budget realised), and no single institution's yearly budget reaches Rp 1.000 triliun; the
counts of documents, people or events and the percentages are smaller by far. Below 2^53
(about 9 * 10^15) every whole number is exact in a double precision float, as PostgreSQL and
Python both hold them, so whole rupiah stay exact, and a sum of them overflows to infinity
(then null in a JSON answer) only past some 10^293 entries, where 1e308 twice did at once.
"""

MAX_QUANTITY = 1e15
