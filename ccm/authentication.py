"""API authentication: DRF's token scheme, loading the caller's practice with the token."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from ccm.models import Practice, User

#: A converter from a database value, with the column expression the ORM passes it.
Converter = tuple[Callable[..., Any], Any]
#: A model's concrete fields as one statement selects them: their attnames, and for each
#: column the converters the ORM would apply to its value (none on PostgreSQL today).
Columns = tuple[type[Model], list[str], list[list[Converter]]]


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token KEY`, as DRF's own, but the user's practice comes in the same
    query as the token: every API view scopes its queries to `request.user.practice`, so
    loading it here saves each request a query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = token_with_user_and_practice(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if token.user.must_change_password:
            raise exceptions.AuthenticationFailed(
                _("Choose your own password on the web first: you have a one-time one.")
            )
        return (token.user, token)


def token_with_user_and_practice(key: str) -> Token | None:
    """The token of `key` with its user and the user's practice (None for a superuser
    without one) loaded, as Token.objects.select_related("user__practice").get(key=key)
    gives them; None for an unknown key.

    One statement written out: the ORM builds and compiles that three-table query on
    every API request, for several times the CPU of its round trip (issue 16: the
    time-entry POST). A test holds the two to the same objects."""
    sql, tables = _token_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    token_part, user_part, practice_part = _split(row, tables)
    token = _from_db(tables[0], token_part)
    user = _from_db(tables[1], user_part)
    practice = None if practice_part[0] is None else _from_db(tables[2], practice_part)
    User._meta.get_field("practice").set_cached_value(user, practice)
    user_field = Token._meta.get_field("user")
    user_field.set_cached_value(token, user)
    user_field.remote_field.set_cached_value(user, token)  # user.auth_token, as select_related
    return cast(Token, token)


@functools.cache
def _token_statement() -> tuple[str, tuple[Columns, Columns, Columns]]:
    """The statement and the columns it selects, made once per process from the models
    (a field added to User or Practice is selected without a change here)."""
    quote = connection.ops.quote_name
    selected: list[str] = []
    tables: list[Columns] = []
    for alias, model in (("t", Token), ("u", User), ("p", Practice)):
        fields: Sequence[Field[Any, Any]] = model._meta.concrete_fields
        selected += [f"{alias}.{quote(str(field.column))}" for field in fields]
        tables.append((model, [field.attname for field in fields], _converters(fields, alias)))
    sql = (
        f"SELECT {', '.join(selected)}"  # noqa: S608  # nosec B608 (names from the models)
        f" FROM {quote(Token._meta.db_table)} t"
        f" JOIN {quote(User._meta.db_table)} u ON u.id = t.user_id"
        f" LEFT JOIN {quote(Practice._meta.db_table)} p ON p.id = u.practice_id"
        " WHERE t.key = %s"
    )
    return sql, (tables[0], tables[1], tables[2])


def _converters(fields: Sequence[Field[Any, Any]], alias: str) -> list[list[Converter]]:
    """Each field's converters from database values, as the ORM's compiler finds them."""
    found = []
    for field in fields:
        column = field.get_col(alias)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        found.append([(convert, column) for convert in converters])
    return found


def _split(row: Sequence[Any], tables: tuple[Columns, ...]) -> list[list[Any]]:
    """The row's values for each table, in the order they were selected."""
    parts, start = [], 0
    for _model, names, _converters_of in tables:
        parts.append(list(row[start : start + len(names)]))
        start += len(names)
    return parts


def _from_db(table: Columns, values: list[Any]) -> Model:
    """An instance as the ORM loads it, each value converted as the ORM converts it."""
    model, names, converters = table
    for index, field_converters in enumerate(converters):
        for convert, column in field_converters:
            values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, names, values)
