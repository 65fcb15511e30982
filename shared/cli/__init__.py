"""`kinerja`, the operator's and auditor's command line; the app is in `shared.cli.main`."""
