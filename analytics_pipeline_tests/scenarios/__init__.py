"""End-to-end scenarios: crashes, faults, late data, readers, whole runs."""
