"""The fault suite of issue 16: services as real processes on a private Kafka and PostgreSQL,
killed, cut off from their database and from their broker while clients keep writing."""
