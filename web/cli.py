"""``massage-hub set-password``, ``setup-code`` and ``token create|list|revoke``."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from hub.errors import HubError


def _credentials(args: argparse.Namespace) -> Any:
    from hub.config.model import load_config
    from hub.store.database import Store

    from .credentials import Credentials

    config = load_config(args.config)
    return Credentials(Store(config.data_path))


def _run(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapper(args: argparse.Namespace) -> int:
        from hub.config.errors import ConfigError  # pydantic: only when a command runs

        try:
            return func(args)
        except ConfigError as exc:
            print(f"{exc}", file=sys.stderr)
            return 1
        except HubError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1

    wrapper.__doc__ = func.__doc__
    return wrapper


@_run
def cmd_set_password(args: argparse.Namespace) -> int:
    """Set the web UI password (asks twice on a terminal; else reads one line from stdin)."""
    creds = _credentials(args)
    tty = sys.stdin.isatty()
    if tty:
        first = getpass.getpass("New password: ")
        if first != getpass.getpass("Repeat it: "):
            print("error: the two passwords differ; nothing changed", file=sys.stderr)
            return 1
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    creds.set_password(first)
    print("password set; every login has ended (each browser must log in again)")
    tokens = len(creds.list_tokens())
    revoke = args.revoke_tokens
    if tokens and not revoke and tty:
        answer = input(f"{tokens} API token(s) still work. Revoke them all too? [y/N] ")
        revoke = answer.strip().lower() in ("y", "yes")
    if revoke:
        print(f"{creds.revoke_all_tokens()} API token(s) revoked")
    elif tokens:
        print(
            f"{tokens} API token(s) still work: massage-hub token list shows them; "
            "token revoke ID, or set-password --revoke-tokens, ends them"
        )
    return 0


@_run
def cmd_setup_code(args: argparse.Namespace) -> int:
    """Print the one-time code the web UI's first-run page asks for."""
    code = _credentials(args).setup_code()
    if code is None:
        print(
            "a password is set already, so there is no setup code; "
            "massage-hub set-password changes the password",
            file=sys.stderr,
        )
        return 1
    print(code)
    return 0


@_run
def cmd_token(args: argparse.Namespace) -> int:
    """Create, list or revoke API tokens."""
    creds = _credentials(args)
    if args.action == "create":
        if not args.name:
            print("error: give the token a name: massage-hub token create NAME", file=sys.stderr)
            return 2
        token = creds.create_token(" ".join(args.name))
        print(token["token"])
        print(
            f"token {token['id']} ({token['name']}) created; it is shown only this once. "
            "Send it as 'Authorization: Bearer <token>'.",
            file=sys.stderr,
        )
        return 0
    if args.action == "list":
        tokens = creds.list_tokens()
        if not tokens:
            print("no API tokens")
        for t in tokens:
            used = t["last_used_at"] or "never used"
            print(f"{t['id']:>4}  {t['name']:<30}  created {t['created_at']}  last used {used}")
        return 0
    # revoke
    if len(args.name) != 1 or not args.name[0].isdigit():
        print(
            "error: give the token's id: massage-hub token revoke ID (see token list)",
            file=sys.stderr,
        )
        return 2
    creds.revoke_token(int(args.name[0]))
    print(f"token {args.name[0]} revoked")
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the web subcommands to the ``massage-hub`` parser."""
    p = add("set-password", cmd_set_password, "set the web UI password (every login ends)")
    p.add_argument("--revoke-tokens", action="store_true", help="also revoke every API token")
    add("setup-code", cmd_setup_code, "print the code the first-run page asks for")
    p = add("token", cmd_token, "create, list or revoke API tokens (create prints the token once)")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="*", help="the new token's NAME (create) or its ID (revoke)")
