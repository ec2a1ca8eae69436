"""Literal secrets are refused before anything else reads a document.

Keys are matched the way secret scanners match them (gitleaks' generic rule, detect-secrets' keyword
detector): the key is split into words (separators `_ - . space`, camelCase, digits; a Kubernetes label
prefix such as `example.com/` is dropped), then

- a key with a strong word anywhere (password, passwd, passphrase, secret, credential(s), ...) or whose
  last word is token, pass or pwd, or `<api|private|secret|access|...> key`, is a secret key;
- unless its last word says it names or points at the secret instead of holding it: `password_env`,
  `token_env`, `secret_name`, `secret_ref`, `password_file`, `token_path`, ... (the sanctioned forms);
- whole words only: `passthrough`, `compass`, `bypass`, `tokenizer`, `max_tokens`, `primary_key`,
  `unique_key` are not secret keys.

A secret key holding a literal (text or a number, a list of them, or an object with any such leaf) is an
error; booleans, null and empty values are not secrets. Values are checked too, under any key: a
password inside a URL (`scheme://user:password@host`) and a password, token or key given as a parameter
of a URL or connection string (`jdbc:postgresql://h/db?user=u&password=p`, `Server=h;Password=p`),
unless it is an obvious placeholder (`${VAR}`, `$VAR`, `{{ ... }}`, `<...>`, `***`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from compiler.front.documents import Document, YamlPath
from compiler.spec.diagnostics import Diagnostic

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STRONG = frozenset({"password", "passwd", "passphrase", "passcode", "secret", "secrets", "credential",
                    "credentials", "creds", "apikey", "privatekey", "secretkey", "accesskey", "clientsecret",
                    "authtoken", "accesstoken"})
WEAK_LAST = frozenset({"token", "pass", "pwd", "pw"})
KEY_QUALIFIERS = frozenset({"api", "private", "secret", "access", "auth", "signing", "encryption", "master",
                            "account", "client", "ssh", "service", "session", "shared", "storage", "license",
                            "webhook", "deploy", "app"})
# a last word that says the key names, locates or describes the secret rather than holding it
REFERENCE_LAST = frozenset({"env", "var", "ref", "reference", "name", "file", "path", "id", "url", "uri", "arn",
                            "version", "length", "count", "type", "policy", "ttl", "rotation", "expiry", "header",
                            "field", "column", "enabled", "required"})

_URL_CREDENTIALS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@?#]*):([^/\s@?#]+)@")
_PARAM_SECRETS = re.compile(
    r"(?:^|[?&;\s])(password|passwd|pwd|secret|client_secret|token|access_token|auth_token|refresh_token|api_key|"
    r"apikey|accountkey|sharedaccesskey|sig)=([^&;\s'\"]+)", re.I)
_PLACEHOLDER = re.compile(r"^(\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|<[^>]*>|\*+|%\(?\w*\)?s)$")


def key_words(key: str) -> list[str]:
    """The words of a key, lower case: `aws_secret_access_key` -> aws secret access key, `dbPassword` -> db
    password, `example.com/api-token` -> api token."""
    name = key.rsplit("/", 1)[-1]
    return [w.lower() for w in _WORDS.findall(name)]


@functools.lru_cache(maxsize=16384)  # a pure function of the key; specs repeat the same few hundred keys
def _classify(key: str) -> tuple[bool, bool]:
    """(whether the key holds a secret, whether it names one: `password_env`, `secret_name`)."""
    words = key_words(key)
    while words and words[-1].isdigit():  # password2, token_1
        words.pop()
    if not words:
        return False, False
    last = words[-1]
    if last in REFERENCE_LAST:
        return False, True
    if last in WEAK_LAST or any(w in STRONG for w in words):
        return True, False
    return last == "key" and len(words) > 1 and words[-2] in KEY_QUALIFIERS, False


def is_secret_key(key: str) -> bool:
    """Whether a key is named like one that holds a secret (see the module's docstring)."""
    return _classify(key)[0]


def secret_in_text(value: str) -> str | None:
    """What kind of secret a text value carries inline, or None."""
    if "@" in value and "://" in value:
        for m in _URL_CREDENTIALS.finditer(value):
            if not _PLACEHOLDER.match(m.group(2)):
                return "a password inside a URL"
    if "=" in value:
        for m in _PARAM_SECRETS.finditer(value):
            if not _PLACEHOLDER.match(m.group(2)):
                return f"a literal {m.group(1)} in a URL or connection string"
    return None


def _holds_literal(value: Any) -> bool:
    """Text or a number (not a boolean, null or blank text), or a list holding one."""
    kind = type(value)
    if kind is str:
        return value.strip() != ""
    if kind is int or kind is float:
        return True
    return kind is list and any(_holds_literal(v) for v in value)


def _walk(data: Any, path: YamlPath, under_secret: bool, keys: list[YamlPath],
          values: list[tuple[YamlPath, str]]) -> None:
    """One pass: secret keys holding literals (anywhere below them), and text carrying a secret inline."""
    if type(data) is dict:
        for key, value in data.items():
            holds, names = _classify(key)
            secret = not names if under_secret else holds
            kind = type(value)
            if secret and _holds_literal(value):
                keys.append((*path, key))
            elif kind is dict or kind is list:
                _walk(value, (*path, key), secret, keys, values)
            elif kind is str and ("=" in value or "@" in value):
                found = secret_in_text(value)
                if found:
                    values.append(((*path, key), found))
    elif type(data) is list:
        for i, value in enumerate(data):
            kind = type(value)
            if kind is dict or kind is list:
                _walk(value, (*path, i), under_secret, keys, values)
            elif kind is str and ("=" in value or "@" in value):
                found = secret_in_text(value)
                if found:
                    values.append(((*path, i), found))


def check_secrets(doc: Document) -> tuple[list[Diagnostic], list[str]]:
    """The literal-secret findings of a document, and the texts that hold the secrets (for other messages to
    mask: a schema error quoting a connection string must not print its password)."""
    out = []
    keys: list[YamlPath] = []
    values: list[tuple[YamlPath, str]] = []
    _walk(doc.data, (), False, keys, values)
    texts = sorted({t for path in [*keys, *(p for p, _ in values)] for t in _texts(_at(doc.data, path))},
                   key=len, reverse=True)  # the longest first: a text holding another is masked whole
    for path in keys:
        line, col = doc.locate_key(path)
        key = str(path[-1])
        out.append(Diagnostic(
            "literal-secret", f"'{key}' holds a literal secret; secrets are never written in specs",
            doc.file, line, col, doc.address,
            f"name an environment variable instead: {key}_env: NAME (where a setting supports it), and keep "
            "the value in your CI or cluster secrets"))
    for path, what in values:
        line, col = doc.locate_key(path) if isinstance(path[-1], str) else doc.locate(path)
        out.append(Diagnostic(
            "literal-secret", f"{'.'.join(map(str, path))} has {what}; secrets are never written in specs",
            doc.file, line, col, doc.address,
            "remove the secret from the text; a warehouse takes it from an environment variable (password_env), "
            "MLflow reads MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN from the environment"))
    return out, texts


def _at(data: Any, path: YamlPath) -> Any:
    for step in path:
        data = data[step]
    return data


def _texts(value: Any) -> list[str]:
    """The texts a secret value is written as (a number too: YAML read it as one)."""
    if type(value) is list:
        return [t for v in value for t in _texts(v)]
    text = str(value).strip() if value is not None and type(value) is not bool else ""
    return [text] if len(text) >= 3 else []  # too short a text would mask words of other messages
