"""The persistent domain: SQLAlchemy tables, Alembic migrations, the ledger (issue 5)."""
