"""URLs as they may be printed: the one place secrets are masked (doctor, the scheduler's
banner, logs, errors, runs).

Which parts of a URL hold secrets depends on what it addresses:

- a notification URL (Apprise: json://, mailto://, dingtalk://, lark://, ntfy://, slack:// …)
  carries its tokens anywhere: in the user-info (``dingtalk://SECRET@TOKEN``), as the "host"
  (``wecombot://BOTKEY``, ``lark://TOKEN``), in the path (``json://host/hook/TOKEN``,
  ``slack://A/B/C``, an ntfy topic), in query values and headers (``?+X-Api-Key=KEY``). Only
  the scheme, a real host name (with a dot, an IP address, localhost), the port, a user name
  followed by a password and the query's keys are shown;
- a database URL (``postgresql://user:pass@host/db``, ``sqlite:////data/x.db``): the password
  and query values are masked; the path is the database, kept;
- a web page (http, https: the sites crawled): only a password is masked, the page's path
  and query being its address.
"""

from __future__ import annotations

import re

MASK = "***"
DATABASE_SCHEMES = {"sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql", "cockroachdb"}
PAGE_SCHEMES = {"http", "https"}
# a host name (labels, a letters-only top-level domain), an IPv4 or [IPv6] address, localhost;
# a bare token in the host's place (a bot key, a webhook id) matches none of these
_HOST_NAME = re.compile(r"(?i)^(?:localhost|(?:[a-z0-9-]+\.)+[a-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])$")
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def mask_url(url: str) -> str:
    """`url` with its secrets replaced by ***; anything that is not scheme://… is all masked."""
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return MASK
    base = scheme.split("+", 1)[0].lower()
    kind = "database" if base in DATABASE_SCHEMES else "page" if base in PAGE_SCHEMES else "notification"
    # the authority ends at the first / ? or # (an unencoded one inside a password ends it
    # early: what follows is then masked as path, query or fragment)
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, rest = rest[:end], rest[end:]
    rest, _, fragment = rest.partition("#")
    path, has_query, query = rest.partition("?")
    user_info, at, host_port = authority.rpartition("@")
    return (f"{scheme}://{_user_info(user_info, kind) + '@' if at else ''}{_host_port(host_port, kind)}"
            f"{_path(path, kind)}{'?' + _query(query, kind) if has_query else ''}"
            f"{'#' + (MASK if kind == 'notification' and fragment else fragment) if fragment else ''}")


def mask_text(text: str) -> str:
    """Every URL inside a message masked (an error or a log line quoting one)."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match.group()), text)


def _user_info(user_info: str, kind: str) -> str:
    user, has_password, _ = user_info.partition(":")
    if has_password:
        return f"{user}:{MASK}"
    # a user-info with no password is a token in notification URLs (ntfy, dingtalk, pushover)
    return MASK if kind == "notification" else user


def _host_port(host_port: str, kind: str) -> str:
    host, colon, port = host_port.rpartition(":")
    if not colon or not port.isdigit() or host.endswith(":"):  # no port (or an IPv6 address)
        host, port = host_port, ""
    if kind == "notification" and host and not _HOST_NAME.match(host):
        host = MASK
    return host + (f":{port}" if port else "")


def _path(path: str, kind: str) -> str:
    if kind != "notification":
        return path
    return "/".join(MASK if segment else "" for segment in path.split("/"))


def _query(query: str, kind: str) -> str:
    if kind == "page":
        return query
    pairs = (pair.partition("=") for pair in query.split("&"))
    return "&".join(f"{key}={MASK}" if has_value and value else f"{key}{'=' if has_value else ''}"
                    for key, has_value, value in pairs)
