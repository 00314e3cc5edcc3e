"""The bank's revision: one number that the database moves on with every change to what a quiz draws
from, so that a process may keep its draws' pools and question versions for as long as it stays put.

A start draws 20 questions from its rules' pools (the visible graded questions of a category subtree,
less those citing a legal text that changed since they were checked) and reads the drawn versions.
Exam day repeats that for thousands of learners over an unchanged bank; quizzes.attempts keeps both per
process under the revision it read in the start's own query, and reads them again once it moves.

The revision is kept by triggers on every table the pool and the versions are read from (WATCHED), in
the same transaction as the change, so no writer can forget it: the ORM, Core, an import, the legal
register, a hand-made UPDATE. On PostgreSQL a statement-level trigger per table; on SQLite a row-level
trigger per table and event. Tests create the schema with create_all: the metadata's after_create
event adds the same triggers there (install_triggers); migration 0017 adds them to a database.
"""
from __future__ import annotations

import sqlalchemy as sa

# Every table a draw's pool or a drawn version is read from (quizzes.attempts._pool_select and
# courses.legal.question_flagged; quizzes.bank.plain_versions).
WATCHED = ("question_categories", "questions", "question_versions", "question_citations",
           "question_legal_checks", "legal_texts", "legal_text_changes")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION bump_bank_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bank_revision (id, revision) VALUES (1, 1)
    ON CONFLICT (id) DO UPDATE SET revision = bank_revision.revision + 1;
    RETURN NULL;
END
$$
"""


def trigger_statements(dialect: str, tables=WATCHED) -> list[str]:
    """The SQL that makes each change to `tables` move the revision on, for a dialect's name."""
    if dialect == "postgresql":
        return [_PG_FUNCTION] + [
            f"CREATE TRIGGER bank_revision_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_bank_revision()" for table in tables]
    if dialect == "sqlite":
        return [f"CREATE TRIGGER bank_revision_{table}_{event.lower()} AFTER {event} ON {table} BEGIN "
                "INSERT OR IGNORE INTO bank_revision (id, revision) VALUES (1, 0); "
                "UPDATE bank_revision SET revision = revision + 1 WHERE id = 1; END"
                for table in tables for event in ("INSERT", "UPDATE", "DELETE")]
    raise NotImplementedError(f"bank revision triggers for {dialect}")


def drop_statements(dialect: str, tables=WATCHED) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS bank_revision_{table} ON {table}" for table in tables] + \
            ["DROP FUNCTION IF EXISTS bump_bank_revision()"]
    return [f"DROP TRIGGER IF EXISTS bank_revision_{table}_{event}" for table in tables
            for event in ("insert", "update", "delete")]


def install_triggers(metadata: sa.MetaData, connection, tables=(), **_kw) -> None:
    """metadata after_create: the triggers of the tables just created, when the revision's table is
    one of them (create_all on a subset of tables adds nothing)."""
    created = {table.name for table in tables}
    if "bank_revision" not in created:
        return
    for statement in trigger_statements(connection.dialect.name, [t for t in WATCHED if t in created]):
        connection.exec_driver_sql(statement.replace("%", "%%"))


def revision_column():
    """The revision as a scalar subquery (NULL before the bank's first change)."""
    from quizzes.models import BankRevision

    table = BankRevision.__table__
    return sa.select(table.c.revision).where(table.c.id == 1).scalar_subquery()
