"""ACL commands (redis-py's ACLCommands): users, rules, categories and the ACL log."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

from ..exceptions import DataError
from .args import Encoder, list_or_args
from .base import CommandsBase
from .callbacks import as_text, client_info_result, is_ok, text_pairs
from .types import KeyT


def _texts(reply: Any) -> List[Any]:
    return [as_text(x) for x in reply]


def _words(value: Any) -> List[str]:
    if isinstance(value, (bytes, str)):
        words = as_text(value).split(" ")
        return [] if words == [""] else words
    return value


def _getuser(reply: Any) -> Dict[str, Any] | None:
    """ACL GETUSER as redis-py's dict: flags, passwords, commands and categories
    split out of the rule text, keys and channels as lists, ``enabled``."""
    if reply is None:
        return None
    it = iter(reply)
    data: Dict[str, Any] = {as_text(k): v for k, v in zip(it, it)}
    data["flags"] = _texts(data["flags"])
    data["passwords"] = _texts(data["passwords"])
    data["keys"] = _words(data["keys"])
    if "channels" in data:
        data["channels"] = _words(data["channels"])
    if data.get("selectors"):
        data["selectors"] = [_texts(selector) for selector in data["selectors"]]
    rules = as_text(data["commands"]).split(" ")
    data["commands"] = [r for r in rules if "@" not in r]
    data["categories"] = [r for r in rules if "@" in r]
    data["enabled"] = "on" in data["flags"]
    return data


def _log(reply: Any) -> Any:
    if not isinstance(reply, list):
        return is_ok(reply)
    entries = []
    for entry in reply:
        data = text_pairs(entry)
        data["client-info"] = client_info_result(data.get("client-info", ""))
        data["age-seconds"] = float(data["age-seconds"])
        entries.append(data)
    return entries


def _signed(encode: Any, items: Any, what: str) -> List[bytes]:
    """Rules written "+x"/"-x" as bytes, checked."""
    out = []
    for item in items:
        item = encode(item)
        if not item.startswith((b"+", b"-")):
            raise DataError(f'{what} "{as_text(item)}" must be prefixed with "+" or "-"')
        out.append(item)
    return out


def _key_rule(encode: Any, key: Any) -> bytes:
    key = encode(key)
    return key if key.startswith((b"%", b"~")) else b"~" + key


class ACLCommands(CommandsBase):
    __slots__ = ()

    def acl_cat(self, category: str | None = None) -> List[str]:
        """The ACL categories, or the commands of ``category``."""
        if category:
            return self._run(("ACL", "CAT", category), _texts)
        return self._run(("ACL", "CAT"), _texts)

    def acl_dryrun(self, username: str, *args: Any) -> Any:
        """Whether ``username`` may run the command ``args`` (OK, or the reason)."""
        return self._run(("ACL", "DRYRUN", username, *args))

    def acl_deluser(self, *username: str) -> int:
        """Delete users; how many existed."""
        return self._run(("ACL", "DELUSER", *username))

    def acl_genpass(self, bits: int | None = None) -> str:
        """A random password of ``bits`` bits (default 256) as hex text."""
        if bits is None:
            return self._run(("ACL", "GENPASS"), as_text)
        try:
            b = int(bits)
        except (TypeError, ValueError):
            b = -1
        if not 0 <= b <= 4096:
            raise DataError("genpass optionally accepts a bits argument, between 0 and 4096.")
        return self._run(("ACL", "GENPASS", b), as_text)

    def acl_getuser(self, username: str) -> Dict[str, Any] | None:
        """The user's rules as a dict (None if there is no such user)."""
        return self._run(("ACL", "GETUSER", username), _getuser)

    def acl_help(self) -> List[str]:
        """ACL HELP's lines."""
        return self._run(("ACL", "HELP"), _texts)

    def acl_list(self) -> List[str]:
        """Every user's rules, one str each."""
        return self._run(("ACL", "LIST"), _texts)

    def acl_log(self, count: int | None = None) -> List[Dict[str, Any]]:
        """The ACL log entries (newest first) as dicts, ``client-info`` parsed."""
        if count is None:
            return self._run(("ACL", "LOG"), _log)
        if not isinstance(count, int):
            raise DataError("ACL LOG count must be an integer")
        return self._run(("ACL", "LOG", count), _log)

    def acl_log_reset(self) -> bool:
        """Empty the ACL log."""
        return self._run(("ACL", "LOG", "RESET"), _log)

    def acl_load(self) -> bool:
        """Reload the users from the server's ACL file."""
        return self._run(("ACL", "LOAD"), is_ok)

    def acl_save(self) -> bool:
        """Write the users to the server's ACL file."""
        return self._run(("ACL", "SAVE"), is_ok)

    def acl_users(self) -> List[str]:
        """The user names."""
        return self._run(("ACL", "USERS"), _texts)

    def acl_whoami(self) -> str:
        """The user of the connection this command runs on."""
        return self._run(("ACL", "WHOAMI"), as_text)

    def acl_setuser(
        self,
        username: str,
        enabled: bool = False,
        nopass: bool = False,
        passwords: str | Iterable[str] | None = None,
        hashed_passwords: str | Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        commands: Iterable[str] | None = None,
        keys: Iterable[KeyT] | None = None,
        channels: Iterable[Any] | None = None,
        selectors: Iterable[Tuple[str, KeyT]] | None = None,
        reset: bool = False,
        reset_keys: bool = False,
        reset_channels: bool = False,
        reset_passwords: bool = False,
    ) -> bool:
        """Create or change ``username`` (redis-py's arguments: passwords "+pw" to
        add, "-pw" to remove; categories "+@read"/"-write"; commands "+get";
        keys and channels patterns; selectors (command rule, key pattern))."""
        host_encoder = getattr(self, "get_encoder", None)  # every client and pipeline
        encoder = host_encoder() if host_encoder else Encoder("utf-8", "strict", False)
        encode = encoder.encode
        args: List[Any] = ["ACL", "SETUSER", username]
        for flag, word in (
            (reset, b"reset"),
            (reset_keys, b"resetkeys"),
            (reset_channels, b"resetchannels"),
            (reset_passwords, b"resetpass"),
        ):
            if flag:
                args.append(word)
        args.append(b"on" if enabled else b"off")
        if (passwords or hashed_passwords) and nopass:
            raise DataError("Cannot set 'nopass' and supply 'passwords' or 'hashed_passwords'")
        for marks, values, what in (
            ((b">", b"<"), passwords, "Password"),
            ((b"#", b"!"), hashed_passwords, "Hashed password"),
        ):
            for i, value in enumerate(list_or_args(values, []) if values else []):
                value = encode(value)
                if value[:1] not in (b"+", b"-"):
                    raise DataError(
                        f'{what} {i} must be prefixed with a "+" to add or a "-" to remove'
                    )
                args.append((marks[0] if value[:1] == b"+" else marks[1]) + value[1:])
        if nopass:
            args.append(b"nopass")
        for category in _signed(encode, categories or (), "Category"):
            args.append(category if category[1:2] == b"@" else category[:1] + b"@" + category[1:])
        args.extend(_signed(encode, commands or (), "Command"))
        args.extend(_key_rule(encode, key) for key in keys or ())
        args.extend(b"&" + encode(channel) for channel in channels or ())
        for rule, key in selectors or ():
            (command,) = _signed(encode, (rule,), "Command")
            args.append(b"(%s %s)" % (command, _key_rule(encode, key)))
        return self._run(tuple(args), is_ok)
