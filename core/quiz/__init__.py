"""The live class quiz: questions put to the whole room, answers in SQLite (store.py)."""
