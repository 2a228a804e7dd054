"""infra/scripts/audit_egress.py: real processes under strace; each attempt named by process, address or host name
and library. The log-reading functions are also checked alone on strace's own output formats."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infra.scripts.audit_egress import Traced, decode_c_string, dns_question, main, parse_log, python_packages

# A name that exists nowhere (RFC 6761): looking it up still sends a DNS query, which is the point.
NO_SUCH_HOST = "enclave-egress-probe.invalid"


def run_traced(tmp_path: Path, code: str, stacks: bool = False) -> tuple[subprocess.CompletedProcess, object]:
    log = tmp_path / "strace.log"
    with Traced([sys.executable, "-c", textwrap.dedent(code)], log, stacks=stacks, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True) as traced:
        out, err = traced.process.communicate(timeout=120)
    return subprocess.CompletedProcess(traced.command, traced.process.returncode, out, err), traced.report()


def test_a_dns_query_from_python_is_reported_with_its_host_process_and_package(tmp_path):
    completed, report = run_traced(tmp_path, f"""
        import socket
        try:
            socket.getaddrinfo("{NO_SUCH_HOST}", 443)
        except OSError:
            print("lookup failed, as expected")
    """)

    assert completed.returncode == 0, completed.stderr
    (query, *_) = report.outbound
    assert query.host == NO_SUCH_HOST
    assert query.port == 53
    assert query.process.startswith(sys.executable)
    assert query.python == []  # no package: the call is the command's own code
    assert NO_SUCH_HOST in report.summary()


def test_a_connection_to_a_remote_address_is_reported_and_loopback_is_not(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        completed, report = run_traced(tmp_path, f"""
            import socket
            socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
            remote = socket.socket()
            remote.setblocking(False)
            remote.connect_ex(("192.0.2.1", 443))  # TEST-NET-1: never routed
        """)
    finally:
        listener.close()

    assert completed.returncode == 0, completed.stderr
    assert [(a.address, a.port) for a in report.outbound] == [("192.0.2.1", 443)]
    assert [(a.address, a.port) for a in report.loopback] == [("127.0.0.1", port)]


def test_an_attempt_in_a_native_program_started_by_the_command_names_that_program(tmp_path):
    getent = shutil.which("getent")
    assert getent, "getent (libc-bin) is part of every Debian system"
    completed, report = run_traced(tmp_path, f"""
        import subprocess
        subprocess.run(["{getent}", "hosts", "{NO_SUCH_HOST}"])
    """, stacks=True)

    assert completed.returncode == 0, completed.stderr
    queries = [a for a in report.outbound if a.host == NO_SUCH_HOST]
    assert queries and all(a.process.startswith(getent) for a in queries)
    assert all(a.library == getent for a in queries)  # the first frame outside libc
    assert any(p.startswith(getent) for p in report.processes)


def test_a_python_library_making_the_call_is_named_from_its_stack(tmp_path):
    package = tmp_path / "site-packages" / "phonehome"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(f"""
        import urllib.request

        def report_usage():
            try:
                urllib.request.urlopen("http://{NO_SUCH_HOST}/", timeout=5)
            except OSError:
                pass
    """))
    completed, report = run_traced(tmp_path, f"""
        import sys
        sys.path.insert(0, {str(package.parent)!r})
        import phonehome
        phonehome.report_usage()
    """)

    assert completed.returncode == 0, completed.stderr
    (query, *_) = [a for a in report.outbound if a.host == NO_SUCH_HOST]
    assert query.python == ["phonehome"]  # urllib, http and socket say how the call was made, not who made it
    assert "from Python: phonehome" in query.describe()


def test_without_stacks_the_native_library_is_not_named_and_the_report_says_how_to(tmp_path, capsys):
    code = main(["--log", str(tmp_path / "log"), "--", shutil.which("getent"), "hosts", NO_SUCH_HOST])

    assert code == 1
    assert "run again with --stacks" in capsys.readouterr().err


def test_the_command_line_exits_1_and_lists_the_attempts(tmp_path, capsys):
    code = main(["--log", str(tmp_path / "log"), "--", sys.executable, "-c",
                 f"import socket\ntry: socket.getaddrinfo('{NO_SUCH_HOST}', 80)\nexcept OSError: pass"])

    assert code == 1
    assert f"DNS query for '{NO_SUCH_HOST}'" in capsys.readouterr().err


def test_the_command_line_exits_0_for_a_quiet_command(tmp_path, capsys):
    assert main(["--log", str(tmp_path / "log"), "--", sys.executable, "-c", "print('quiet')"]) == 0
    assert "0 outbound attempts" in capsys.readouterr().err


# -- strace's formats, read alone ----------------------------------------------------------------------------------

def test_c_string_escapes_are_decoded():
    assert decode_c_string(r"\250_\1\0\x41\t\\\"a") == bytes([0o250, ord("_"), 1, 0, 0x41, 9, 92, 34, ord("a")])


def test_a_dns_question_is_read_from_a_query_and_from_a_cut_buffer():
    query = b"\x86\x1b\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"

    assert dns_question(query) == "example.com"
    assert dns_question(b"\x00\x1d" + query) == "example.com"  # over TCP, after the length
    assert dns_question(query[:20]) == "example…"
    assert dns_question(query[:23]) == "example.co…"
    assert dns_question(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") is None


def test_unfinished_and_resumed_calls_are_joined_and_stacks_kept_with_their_call():
    log = textwrap.dedent("""\
        100 execve("/usr/bin/python3", ["python3", "-c", "x"], 0x7ffd /* 3 vars */) = 0
        100 clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x1}, 88) = 101
        101 connect(9, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}, 16 <unfinished ...>
        100 connect(3, {sa_family=AF_INET, sin_port=htons(8088), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
         > /usr/lib/x86_64-linux-gnu/libc.so.6(__connect+0x10) [0x10a7c0]
        101 <... connect resumed>)            = 0
         > /usr/lib/x86_64-linux-gnu/libc.so.6(__connect+0x10) [0x10a7c0]
         > /venv/lib/python3.11/site-packages/onnxruntime/capi/onnxruntime_pybind11_state.so(PyInit+0x1) [0x1]
        101 sendto(9, "L\\327\\1\\0\\0\\1\\0\\0\\0\\0\\0\\0\\6mobile\\6events\\4data\\tmicrosoft\\3com\\0\\0\\1\\0\\1", 50, MSG_NOSIGNAL, NULL, 0) = 50
        100 connect(4, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH (Network is unreachable)
        100 connect(5, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
        """)

    report = parse_log(log.splitlines())

    dns, ipv6 = report.outbound
    assert (dns.pid, dns.process, dns.host) == (101, "python3 -c x", "mobile.events.data.microsoft.com")
    assert dns.library == "onnxruntime/capi/onnxruntime_pybind11_state.so"
    assert (ipv6.address, ipv6.port, ipv6.result.split()[1]) == ("2001:db8::1", 443, "ENETUNREACH")
    assert [(a.address, a.port) for a in report.loopback] == [("127.0.0.1", 8088)]
    assert report.processes == ["python3 -c x"]


def test_python_packages_skip_the_standard_library(tmp_path):
    parsing = tmp_path / "enclave" / "ingest" / "parsing"  # a module of a sub-package is named by its package
    parsing.mkdir(parents=True)
    for package in (parsing, parsing.parent):
        (package / "__init__.py").touch()
    frames = [
        "/usr/lib/python3.11/socket.py",
        "/v/lib/python3.11/site-packages/urllib3/connection.py",
        "/v/lib/python3.11/site-packages/requests/adapters.py",
        "/v/lib/python3.11/site-packages/requests/api.py",
        "<frozen importlib._bootstrap>",
        str(parsing / "partitioning.py"),
        str(tmp_path / "enclave" / "bench" / "parse.py"),
    ]

    assert python_packages(frames) == ["urllib3", "requests", "ingest", "bench"]


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_loopback_addresses_are_local_except_for_dns(address):
    from infra.scripts.audit_egress import Attempt

    family = "AF_INET6" if ":" in address else "AF_INET"
    assert not Attempt(1, "p", "connect", family, address, 8088, "0").outbound
    assert Attempt(1, "p", "connect", family, address, 53, "0").outbound  # a resolver on loopback is still DNS


def test_an_allowed_service_and_its_name_pass_and_anything_else_is_still_reported():
    from ipaddress import ip_network

    from infra.scripts.audit_egress import Attempt, Policy, Report

    qdrant = Attempt(1, "enclave app", "connect", "AF_INET", "172.18.0.3", 6333, "0")
    lookup = Attempt(1, "enclave app", "connect", "AF_INET", "127.0.0.11", 53, "0", host="qdrant")
    stranger = Attempt(1, "enclave app", "connect", "AF_INET", "172.18.0.3", 53, "0", host="telemetry.example.com")
    report = Report([qdrant, lookup, stranger], policy=Policy((ip_network("172.18.0.0/16"),), ("qdrant",)))

    assert report.outbound == [stranger]
    assert report.allowed == [qdrant, lookup]


def test_a_process_is_named_by_its_whole_argv_even_when_an_argument_holds_brackets():
    log = textwrap.dedent("""\
        200 execve("/venv/bin/python", ["/venv/bin/python", "-B", "-c", "from multiprocessing.forkserver import main; main(10, 11, ['ingest.pipeline.parse_server'], **{'sys_path': ['/a', '/b']})"...], 0x5 /* 51 vars */) = 0
        200 connect(9, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("10.0.0.9")}, 16) = -1 EINPROGRESS (Operation now in progress)
        """)

    (attempt,) = parse_log(log.splitlines()).outbound

    assert attempt.process == ("/venv/bin/python -B -c from multiprocessing.forkserver import main; "
                               "main(10, 11, ['ingest.pipeline.parse_server'], **{'sys_path': ['/a', '/b']})")
