"""A Datasette plugin `muniarchive serve` loads: the archive's search normalisation as an SQL
function, so the canned search query finds either script as `muniarchive search` does."""

from datasette import hookimpl

from textnorm import searchable


@hookimpl
def prepare_connection(conn):
    conn.create_function("muniarchive_searchable", 1, lambda text: searchable(text or ""), deterministic=True)
