"""The words of every notification, in Bahasa Indonesia (the default) and English. A message
is stored as its kind and parameters and rendered when read, so a reader may pick the
language and a corrected wording reaches old messages too."""

from collections.abc import Mapping

Template = tuple[str, str]  # title, body: str.format templates over the parameters

MESSAGES: Mapping[str, Mapping[str, Template]] = {
    "SKP_SUBMITTED": {
        "id": ("SKP menunggu persetujuan",
               "SKP {year} milik {nip} telah diajukan dan menunggu persetujuan Anda."),
        "en": ("An SKP awaits your approval",
               "The {year} SKP of {nip} was submitted and awaits your approval."),
    },
    "SKP_APPROVED": {
        "id": ("SKP disetujui", "SKP {year} Anda telah disetujui oleh {by}."),
        "en": ("SKP approved", "Your {year} SKP was approved by {by}."),
    },
    "SKP_RETURNED": {
        "id": ("SKP dikembalikan", "SKP {year} Anda dikembalikan oleh {by}: {reason}"),
        "en": ("SKP returned", "Your {year} SKP was returned by {by}: {reason}"),
    },
    "FEEDBACK_GIVEN": {
        "id": ("Umpan balik baru", "{by} memberi umpan balik atas catatan kinerja Anda: {text}"),
        "en": ("New feedback", "{by} gave feedback on your progress entry: {text}"),
    },
    "RATING_GIVEN": {
        "id": ("Hasil penilaian {period} {year}",
               "Predikat kinerja Anda untuk {period} {year}: {predikat}. Keberatan dapat"
               " diajukan paling lambat {appeal_until}."),
        "en": ("Your {period} {year} result",
               "Your performance predicate for {period} {year}: {predikat}. You may appeal"
               " until {appeal_until}."),
    },
    "RATING_AMENDED": {
        "id": ("Hasil penilaian {period} {year} diubah",
               "Predikat kinerja Anda untuk {period} {year} diubah menjadi {predikat}."
               " Keberatan dapat diajukan paling lambat {appeal_until}."),
        "en": ("Your {period} {year} result was amended",
               "Your performance predicate for {period} {year} is now {predikat}. You may"
               " appeal until {appeal_until}."),
    },
    "APPEAL_FILED": {
        "id": ("Keberatan menunggu keputusan",
               "{nip} mengajukan keberatan atas hasil {period} {year}: {reason}"),
        "en": ("An appeal awaits your decision",
               "{nip} appealed against their {period} {year} result: {reason}"),
    },
    "APPEAL_DECIDED": {
        "id": ("Keberatan telah diputus",
               "Keberatan {nip} atas hasil {period} {year} diputus {outcome}; predikat:"
               " {predikat}."),
        "en": ("An appeal was decided",
               "The appeal of {nip} against their {period} {year} result was decided"
               " {outcome}; predicate: {predikat}."),
    },
    "REMINDER_NO_ENTRY_BEFORE_PERIOD_END": {
        "id": ("Pengingat: catat realisasi {period}",
               "Periode {period} {year} berakhir pada {due}; Anda belum mencatat realisasi"
               " kinerja pada periode ini."),
        "en": ("Reminder: record your {period} progress",
               "{period} {year} ends on {due}; you have recorded no progress in it yet."),
    },
    "REMINDER_UNRATED_SUBORDINATES": {
        "id": ("Pengingat: penilaian {period} belum diberikan",
               "Periode {period} {year} telah berakhir pada {due}; pegawai berikut belum"
               " Anda nilai: {nips}."),
        "en": ("Reminder: {period} ratings are due",
               "{period} {year} ended on {due}; you have not yet rated: {nips}."),
    },
    "REMINDER_NO_APPROVED_SKP": {
        "id": ("Pengingat: SKP {year} belum disetujui",
               "Batas waktu SKP {year} adalah {due}; SKP Anda belum disetujui."),
        "en": ("Reminder: your {year} SKP is not approved",
               "The {year} SKP deadline was {due}; your SKP is not approved yet."),
    },
    "CURVE_BREACHED": {
        "id": ("Kurva distribusi {unit_code} {period} {year} tidak terpenuhi",
               "Predikat organisasi {organisation_predikat}; dari {rated} pegawai yang dinilai,"
               " batas berikut terlampaui: {breaches}."),
        "en": ("The distribution curve of {unit_code} {period} {year} does not hold",
               "Organisation predicate {organisation_predikat}; of {rated} rated, these"
               " limits are breached: {breaches}."),
    },
    "CURVE_HOLDS": {
        "id": ("Kurva distribusi {unit_code} {period} {year} terpenuhi kembali",
               "Predikat organisasi {organisation_predikat}; {rated} pegawai dinilai."),
        "en": ("The distribution curve of {unit_code} {period} {year} holds again",
               "Organisation predicate {organisation_predikat}; {rated} rated."),
    },
    "WEBHOOK_DISABLED": {
        "id": ("Webhook dinonaktifkan",
               "Pengiriman ke {url} gagal sejak {since} sehingga webhook dinonaktifkan."
               " Galat terakhir: {error}"),
        "en": ("A webhook was disabled",
               "Deliveries to {url} kept failing since {since}, so the webhook was disabled."
               " Last error: {error}"),
    },
}  # fmt: skip
LANGUAGES = ("id", "en")
HUMAN = {"SANGAT_BAIK": "Sangat Baik", "BAIK": "Baik", "BUTUH_PERBAIKAN": "Butuh Perbaikan",
         "KURANG": "Kurang", "SANGAT_KURANG": "Sangat Kurang"}  # fmt: skip


def render(kind: str, params: Mapping[str, object], language: str = "id") -> tuple[str, str]:
    """Title and body of a message; an unknown language falls back to Bahasa Indonesia."""
    title, body = MESSAGES[kind].get(language, MESSAGES[kind]["id"])
    shown = {k: HUMAN.get(str(v), v) for k, v in params.items()}
    return title.format_map(shown), body.format_map(shown)
