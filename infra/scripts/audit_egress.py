"""Record every network connection a command (and every process it starts) attempts, at the system-call level, and
report the ones that would leave the machine: any connection to a non-loopback address and any DNS query.

Python-level guards (audit hooks, patched sockets) miss native libraries, and a network namespace without a route
only shows that a program copes with failure, not that it tried nothing. strace sees every connect() and send*()
the kernel is asked for, from any thread of any library, whether it would have succeeded or not.

    python3 infra/scripts/audit_egress.py [--log FILE] [--json] -- COMMAND [ARG...]
    python3 infra/scripts/audit_egress.py --pid PID [--log FILE]      (attach to a running process; Ctrl-C ends)

Exit 0: no outbound attempt; 1: attempts found (each listed with its process, address or host name, and the
library in its call stack); 2: the command could not be traced (strace missing, ptrace not permitted).
Needs Debian's `strace` (built with stack traces, `-k`). Standard library only: it runs on any host.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

SYSCALLS = ("connect", "sendto", "sendmsg", "sendmmsg")
# Process creation is traced too, so each attempt is named by the program that made it.
PROCESS_SYSCALLS = ("execve", "clone", "clone3", "fork", "vfork")
DNS_PORT = 53
# Name resolution that goes through a local daemon instead of UDP port 53 (systemd-resolved's socket).
RESOLVER_SOCKETS = ("/run/systemd/resolve/", "/var/run/systemd/resolve/")
# Frames of these objects say how a call was made, not who made it: the library named is the first frame that
# is none of them, counting outwards from the system call.
_PLUMBING = re.compile(
    r"(^|/)(libc\.so|libpthread|ld-linux|libresolv|libnss_|libpython3|python3(\.\d+)?$|_socket\.cpython|"
    r"libstdc\+\+|libgcc_s|libssl|libcrypto|libcurl|libuv|libglib|libgio)"
)


# Native stacks end in libpython for a call made by Python code: a `sitecustomize` put first on PYTHONPATH adds an
# audit hook to every Python process of the command, recording the Python stack of each non-loopback connect and
# name lookup, so the report can name the Python package too. It only observes, then loads any other sitecustomize.
PYTHON_LOG_VARIABLE = "AUDIT_EGRESS_PYTHON_LOG"
_SITECUSTOMIZE = """
import json, os, sys, threading

def _audit_egress_hook(event, args, _log=os.environ.get("%s")):
    if event == "socket.getaddrinfo":
        target = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if not target or target == "localhost" or str(target).startswith(("127.", "::1")):
            return
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if not isinstance(address, tuple) or str(address[0]).startswith(("127.", "::1", "localhost")):
            return
        target = str(address[0])
    else:
        return
    frames, frame = [], sys._getframe(1)
    while frame is not None and len(frames) < 40:
        frames.append(frame.f_code.co_filename)
        frame = frame.f_back
    record = {"tid": threading.get_native_id(), "event": event, "target": str(target), "frames": frames}
    with open(_log, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\\n")

if os.environ.get("%s"):
    sys.addaudithook(_audit_egress_hook)
import importlib.machinery
_here = os.path.dirname(os.path.abspath(__file__))
_other = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here])
if _other is not None and _other.loader is not None:
    _other.loader.exec_module(sys.modules[__name__])  # the environment's own sitecustomize, run here
""" % (PYTHON_LOG_VARIABLE, PYTHON_LOG_VARIABLE)


class TraceError(Exception):
    """strace could not run or could not trace the command."""


@dataclass
class Attempt:
    """One connection attempt or datagram sent to a network address."""

    pid: int
    process: str  # the command line of the program that made it
    syscall: str
    family: str  # AF_INET, AF_INET6, AF_UNIX
    address: str  # IP address, or the socket path for AF_UNIX
    port: int | None
    result: str  # what the kernel answered: "0", "-1 ENETUNREACH (…)", …
    host: str | None = None  # the name asked for, when the payload is a DNS query
    library: str | None = None  # the first non-system object in the call stack
    python: list[str] = field(default_factory=list)  # Python packages on the stack, innermost first
    stack: list[str] = field(default_factory=list)

    @property
    def outbound(self) -> bool:
        """Leaves the machine, or asks a resolver for a name."""
        if self.family == "AF_UNIX":
            return self.address.startswith(RESOLVER_SOCKETS)
        return self.port == DNS_PORT or not is_loopback(self.address)

    def describe(self) -> str:
        target = f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"
        if self.family == "AF_UNIX":
            target = self.address
        what = f"DNS query for {self.host!r} to {target}" if self.host else f"{self.syscall} to {target}"
        by = f" from {self.library}" if self.library else ""
        if self.python:
            by += " from Python: " + " <- ".join(self.python)
        return f"{what}{by} (pid {self.pid}: {self.process}; result {self.result})"


@dataclass(frozen=True)
class Policy:
    """The services a deployment is configured to use, besides loopback: in production the app talks to Qdrant,
    PostgreSQL and vLLM on the compose network, by name (`--allow-network 172.18.0.0/16 --allow-name qdrant
    --allow-name postgres --allow-name vllm`)."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    names: tuple[str, ...] = ()

    def allows(self, attempt: Attempt) -> bool:
        if attempt.port == DNS_PORT or attempt.address.startswith(RESOLVER_SOCKETS):
            host = attempt.host or ""
            return any(host == name or host.startswith(name + ".") for name in self.names)
        try:
            ip = ipaddress.ip_address(attempt.address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


@dataclass
class Report:
    attempts: list[Attempt]  # every network attempt seen, loopback included
    processes: list[str] = field(default_factory=list)  # every program the command ran, in order
    policy: Policy = field(default_factory=Policy)

    @property
    def outbound(self) -> list[Attempt]:
        """Attempts to leave the machine (or to resolve a name) that the policy does not allow."""
        return [a for a in self.attempts if a.outbound and not self.policy.allows(a)]

    @property
    def allowed(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outbound and self.policy.allows(a)]

    @property
    def loopback(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.outbound and a.family != "AF_UNIX"]

    def summary(self) -> str:
        lines = [f"{len(self.outbound)} outbound attempts, {len(self.loopback)} loopback connections"
                 + (f", {len(self.allowed)} to allowed services" if self.allowed else "")]
        seen: set[str] = set()
        for attempt in self.outbound:
            line = attempt.describe()
            if line not in seen:  # a retried query says nothing new
                seen.add(line)
                lines.append(f"  {line}")
        return "\n".join(lines)


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def strace_command(log: Path, stacks: bool = False) -> list[str]:
    """The strace invocation: follow every process and thread. stacks: keep each traced call's native stack (-k),
    which names the library that made it but costs a lot: strace then follows every mmap and re-reads the process's
    memory map (the app's page load, upload and answer took 255 s with it, 35 s without)."""
    if shutil.which("strace") is None:
        raise TraceError("strace is not installed: apt-get install strace (Debian's package has stack traces)")
    return [
        "strace", "-f", "-qq", *(["-k"] if stacks else []), "-s", "512", "--seccomp-bpf", "-e", "signal=none",
        "-e", "trace=" + ",".join(SYSCALLS + PROCESS_SYSCALLS), "-o", str(log),
    ]


# -- reading strace's output ----------------------------------------------------------------------------------------

_LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<rest>.*)$")
_CALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<result>.*)$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>(?P<tail>.*)$")
_FAMILY = re.compile(r"sa_family=(AF_\w+)")
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
_IPV4 = re.compile(r'sin_addr=inet_addr\("([^"]+)"\)')
_IPV6 = re.compile(r'inet_pton\(AF_INET6, "([^"]+)"')
_UNIX = re.compile(r'sun_path=(@?"(?:[^"\\]|\\.)*")')
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)")
_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "\\": 92, '"': 34, "'": 39}


def decode_c_string(text: str) -> bytes:
    """strace prints buffers as C string literals: octal, hex and the usual backslash escapes."""
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(text):
        out += text[position:match.start()].encode("latin-1", "replace")
        code = match.group(1)
        if code[0] == "x":
            out.append(int(code[1:], 16))
        elif code[0] in "01234567":
            out.append(int(code, 8) & 0xFF)
        else:
            out.append(_SIMPLE_ESCAPES.get(code, ord(code) & 0xFF))
        position = match.end()
    out += text[position:].encode("latin-1", "replace")
    return bytes(out)


def dns_question(payload: bytes) -> str | None:
    """The name asked for, if `payload` is a DNS query (over UDP, or TCP with its length prefix)."""
    for start in (0, 2):
        message = payload[start:]
        if len(message) < 14 or not _is_query_header(message[:12]):
            continue
        labels, position = [], 12
        while position < len(message):
            length = message[position]
            if length == 0:
                return ".".join(labels) if labels else None
            label = message[position + 1:position + 1 + length]
            if length > 63 or not _HOST_LABEL.fullmatch(label):
                break
            labels.append(label.decode("ascii"))
            if len(label) < length:  # the buffer strace printed was cut: what is there is still the name
                return ".".join(labels) + "…"
            position += 1 + length
        else:
            if labels:
                return ".".join(labels) + "…"  # cut right after a label
    return None


_HOST_LABEL = re.compile(rb"[A-Za-z0-9_-]*")


def _is_query_header(header: bytes) -> bool:
    """A standard query (QR 0, opcode 0) with one to four questions and no answers."""
    counts = [int.from_bytes(header[i:i + 2], "big") for i in (4, 6, 8, 10)]
    return header[2] & 0xF8 == 0 and 1 <= counts[0] <= 4 and counts[1] == counts[2] == 0 and counts[3] <= 1


def _address(args: str) -> tuple[str, str, int | None] | None:
    family = _FAMILY.search(args)
    if family is None:
        return None
    if family.group(1) == "AF_UNIX":
        path = _UNIX.search(args)
        if path is None:
            return "AF_UNIX", "", None
        raw = path.group(1)
        return "AF_UNIX", ("@" if raw.startswith("@") else "") + decode_c_string(raw.lstrip("@")[1:-1]).decode(
            "utf-8", "replace"), None
    if family.group(1) not in ("AF_INET", "AF_INET6"):
        return None
    ip = _IPV4.search(args) or _IPV6.search(args)
    port = _PORT.search(args)
    return family.group(1), ip.group(1) if ip else "?", int(port.group(1)) if port else None


def _library(stack: Sequence[str]) -> str | None:
    for frame in stack:
        obj = frame.strip().split("(", 1)[0].strip()
        if obj.startswith("/") and not _PLUMBING.search(obj):
            installed = re.search(r"/(?:site|dist)-packages/(.+)$", obj)
            return installed.group(1) if installed else obj
    return None


def _process_name(args: str) -> str:
    """The command line from execve's arguments: its argv list, shortened."""
    words, position = [], args.find("[") + 1
    while position:  # the argv strings, up to the list's closing bracket (a string may hold brackets: python -c)
        found = _STRING.match(args, position)
        if found is None:
            break
        words.append(decode_c_string(found.group(1)).decode("utf-8", "replace"))
        position = found.end()
        position += len(args[position:]) - len(args[position:].lstrip(".,  "))  # "…"..., the separator
    line = " ".join(" ".join(words).split()) if words else args
    return line if len(line) <= 160 else line[:157] + "…"


def parse_log(lines: Iterable[str]) -> Report:
    """Read strace -f -k output into the network attempts it records, each named by its process."""
    names: dict[int, str] = {}
    unfinished: dict[int, str] = {}
    connected: dict[tuple[int, str], Attempt] = {}  # (pid, fd) -> the connect that fd made, for sends without address
    attempts: list[Attempt] = []
    processes: list[str] = []
    last: Attempt | None = None  # the stack lines that follow a call belong to it

    for raw in lines:
        line = raw.rstrip("\n")
        if line.startswith(" > "):
            if last is not None:
                last.stack.append(line[3:])
            continue
        last = None
        match = _LINE.match(line)
        if match is None:
            continue
        pid, rest = int(match.group("pid")), match.group("rest")
        if rest.endswith("<unfinished ...>"):
            unfinished[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        resumed = _RESUMED.match(rest)
        if resumed is not None:
            rest = unfinished.pop(pid, resumed.group("name") + "(") + resumed.group("tail")
        call = _CALL.match(rest)
        if call is None:
            continue
        name, args, result = call.group("name"), call.group("args"), call.group("result").strip()
        if name == "execve" and result.startswith("0"):
            names[pid] = _process_name(args)
            processes.append(names[pid])
            continue
        if name in PROCESS_SYSCALLS:
            child = result.split()[0]
            if child.isdigit():
                names.setdefault(int(child), names.get(pid, "?"))
            continue
        fd = args.split(",", 1)[0].strip()
        target = _address(args)
        if target is None and name != "connect":
            attempt = connected.get((pid, fd))  # a send on a connected socket: read its payload for a DNS name
            if attempt is not None and attempt.host is None and attempt.port == DNS_PORT:
                attempt.host = _dns_name(args)
            continue
        if target is None:
            continue
        family, address, port = target
        attempt = Attempt(pid, names.get(pid, "?"), name, family, address, port, result)
        if name == "connect":
            connected[(pid, fd)] = attempt
        if port == DNS_PORT:
            attempt.host = _dns_name(args)
        attempts.append(attempt)
        last = attempt

    for attempt in attempts:
        attempt.library = _library(attempt.stack)
    return Report(attempts, processes)


def _dns_name(args: str) -> str | None:
    for text in _STRING.findall(args):
        name = dns_question(decode_c_string(text))
        if name:
            return name
    return None


# -- running a command under strace ---------------------------------------------------------------------------------

class Traced:
    """A command started under strace (use as a context manager). `stop()` ends the command's process tree with
    SIGTERM, as a user's Ctrl-C or a service manager would, and waits for the trace to be complete."""

    def __init__(self, command: Sequence[str], log: Path, env: dict[str, str] | None = None, stacks: bool = False,
                 **popen: object) -> None:
        self.log = log
        self.command = list(command)
        env = dict(os.environ if env is None else env)
        hook_dir = log.parent / f"{log.name}.site"
        hook_dir.mkdir(parents=True, exist_ok=True)
        (hook_dir / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook_dir), env.get("PYTHONPATH")) if p)
        env[PYTHON_LOG_VARIABLE] = str(python_log_of(log))
        self.process = subprocess.Popen(strace_command(log, stacks) + ["--", *self.command], env=env,  # type: ignore[call-overload]
                                        **popen)

    def __enter__(self) -> "Traced":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, timeout: float | None = None) -> int:
        """The command's exit code (strace exits with it)."""
        return self.process.wait(timeout)

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            for pid in descendants(self.process.pid):
                _signal(pid, signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in descendants(self.process.pid):
                    _signal(pid, signal.SIGKILL)
        return self.process.wait(timeout)

    def report(self) -> Report:
        return read_report(self.log)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before children (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, help="keep strace's log here (default: a temporary file)")
    parser.add_argument("--pid", type=int, help="attach to this running process and its children instead")
    parser.add_argument("--json", action="store_true", help="print every attempt as JSON")
    parser.add_argument("--stacks", action="store_true",
                        help="record native call stacks, to name the library of each attempt (slow)")
    parser.add_argument("--allow-network", action="append", default=[], type=ipaddress.ip_network, metavar="CIDR",
                        help="also allow connections into this network (the compose network of Qdrant and vLLM)")
    parser.add_argument("--allow-name", action="append", default=[], metavar="NAME",
                        help="also allow DNS queries for this name (a compose service: qdrant, vllm)")
    parser.add_argument("command", nargs="*", help="the command to run, after --")
    args = parser.parse_args(argv)
    if bool(args.command) == bool(args.pid):
        parser.error("give a command after --, or --pid")
    policy = Policy(tuple(args.allow_network), tuple(args.allow_name))
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log or Path(tmp) / "strace.log"
        try:
            if args.pid:
                code = _attach(args.pid, log, args.stacks)
            else:
                code = Traced(args.command, log, stacks=args.stacks).wait()
            report = read_report(log, policy)
        except TraceError as exc:
            print(f"audit_egress: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            report, code = read_report(log, policy), 130
    if args.json:
        flagged = {id(a) for a in report.outbound}
        print(json.dumps([{**asdict(a), "outbound": id(a) in flagged} for a in report.attempts], indent=2))
    print(report.summary(), file=sys.stderr)
    if not args.stacks and any(a.library is None and not a.python for a in report.outbound):
        print("(run again with --stacks to name the native library of each attempt)", file=sys.stderr)
    if code not in (0, 130):
        print(f"(the command exited with {code})", file=sys.stderr)
    return 1 if report.outbound else 0


def _attach(pid: int, log: Path, stacks: bool) -> int:
    command = strace_command(log, stacks)
    command.remove("--seccomp-bpf")  # only for processes strace starts itself
    process = subprocess.Popen([*command, "-p", str(pid)])
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)  # strace detaches and finishes its log
        process.wait()
        raise


def python_log_of(log: Path) -> Path:
    return log.with_name(log.name + ".python.jsonl")


def read_report(log: Path, policy: Policy | None = None) -> Report:
    """The attempts in strace's log, with the Python packages on their stacks where the hook saw them."""
    if not log.is_file():
        raise TraceError(f"strace wrote no log ({log}): is ptrace permitted here?")
    with log.open(encoding="utf-8", errors="replace") as lines:
        report = parse_log(lines)
    if policy is not None:
        report.policy = policy
    python_log = python_log_of(log)
    if python_log.is_file():
        with python_log.open(encoding="utf-8", errors="replace") as lines:
            attribute_python(report, [json.loads(line) for line in lines if line.strip()])
    return report


def attribute_python(report: Report, records: Sequence[dict]) -> None:
    """Give each outbound attempt the Python packages on the stack of the call its thread made for it."""
    for attempt in report.outbound:
        same_thread = [r for r in records if r["tid"] == attempt.pid]
        exact = [r for r in same_thread if r["target"] in (attempt.host, attempt.address)]
        for record in (exact or same_thread)[:1]:
            attempt.python = python_packages(record["frames"])


def python_packages(frames: Sequence[str]) -> list[str]:
    """The distinct packages of these source files, innermost first; the standard library left out."""
    packages: list[str] = []
    for path in frames:
        installed = re.search(r"/(?:site|dist)-packages/([^/]+)", path)
        if installed:
            name = installed.group(1).removesuffix(".py")
        elif path.startswith("<") or re.search(r"/lib/python3\.\d+/", path):
            continue  # frozen or standard library: how the call was made, not who made it
        else:
            name = _top_package(Path(path))
        if name not in packages:
            packages.append(name)
    return packages[:5]


def _top_package(source: Path) -> str:
    """The package a source file outside site-packages belongs to: the outermost of the folders above it that are
    packages (ingest for ingest/parsing/partitioning.py), else its own folder (a script's: bench for bench/parse.py)."""
    folder = source.parent
    while (folder / "__init__.py").is_file() and (folder.parent / "__init__.py").is_file():
        folder = folder.parent
    return folder.name or str(source)


if __name__ == "__main__":
    sys.exit(main())
