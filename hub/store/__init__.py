"""The store on disk (SQLite) and the records that follow a deed."""
