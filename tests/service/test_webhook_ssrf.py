"""Webhook deliveries are pinned to the addresses validated by the SSRF check: the host is
resolved once, every address checked, and the connection made to a checked address, so DNS
rebinding cannot steer a delivery to a private address. Host header and TLS (SNI and
certificate verification) keep the host name; redirects are not followed.

The receivers are real HTTP(S) servers on loopback addresses; ``socket.getaddrinfo`` is
replaced for made-up host names only, so any code that resolved the name a second time would
see the rebound answer."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from songforge.errors import UnsafeCallbackUrl
from songforge.jobs.memory import MemoryJobStore
from songforge.jobs.model import BlobRef, Job, Outputs, WebhookState, new_job_id, request_hash
from songforge.request import SongRequest
from songforge.service.webhooks import WebhookDispatcher, check_callback_url
from webhook_receiver import Receiver

KEY = b"k" * 32
PUBLIC = "93.184.216.34"


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


class FakeDns:
    """``socket.getaddrinfo`` that answers chosen names from a script (the last answer
    repeats) and passes every other name to the real resolver."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: dict[str, int] = {}
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.answers:
                return real(host, port, *args, **kwargs)
            count = self.lookups[name] = self.lookups.get(name, 0) + 1
            script = self.answers[name]
            address = script[min(count, len(script)) - 1]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns(monkeypatch)


def finished_job(store: MemoryJobStore, callback_url: str) -> Job:
    """A succeeded job whose webhook is due."""
    request = SongRequest(prompt="synthwave night drive", seed=1)
    job = Job(
        id=new_job_id(),
        owner="alice",
        request=request,
        request_hash=request_hash(request),
        callback_url=callback_url,
    )
    store.create(job)
    claimed = store.claim(job.id, "w", 30)
    assert claimed is not None
    ref = BlobRef("songs/x/a1/song.wav", "ab" * 32, 10, "audio/wav")
    store.complete(job.id, claimed.attempt, Outputs("songs/x/a1", "wav", ref, ref))
    return job


def deliver(callback_url: str, **options: Any) -> tuple[MemoryJobStore, Job]:
    store = MemoryJobStore()
    job = finished_job(store, callback_url)
    dispatcher = WebhookDispatcher(store, KEY, retry_s=(0.0,), timeout_s=5.0, **options)
    try:
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.close()
    done = store.get(job.id)
    assert done is not None
    return store, done


def test_delivery_goes_to_the_address_checked_not_to_a_rebound_one(
    dns: FakeDns, receivers: Callable[..., Receiver]
) -> None:
    checked = receivers(host="127.0.0.2")  # the allow-listed address the check approves
    rebound = receivers(host="127.0.0.1", port=checked.port)  # what the name turns into later
    dns.answers["rebind.test"] = ["127.0.0.2", "127.0.0.1"]
    store, job = deliver(f"http://rebind.test:{checked.port}/hook", allow=("127.0.0.2/32",))
    assert [h["host"] for h, _ in checked.requests] == [f"rebind.test:{checked.port}"]
    assert rebound.requests == []
    assert dns.lookups["rebind.test"] == 1  # resolved once, for the check
    assert job.webhook_state is WebhookState.DELIVERED
    [attempt] = store.webhook_attempts(job.id)
    assert attempt.ok and attempt.status_code == 200


def test_a_host_rebound_to_a_private_address_after_submit_is_refused(
    dns: FakeDns, receivers: Callable[..., Receiver]
) -> None:
    private = receivers(host="127.0.0.1")
    url = f"http://rebind.test:{private.port}/hook"
    dns.answers["rebind.test"] = [PUBLIC, "127.0.0.1"]
    check_callback_url(url)  # at submit: public, accepted
    store, job = deliver(url)
    assert private.requests == []
    assert job.webhook_state is WebhookState.FAILED  # refused for good, not retried
    [attempt] = store.webhook_attempts(job.id)
    assert not attempt.ok and attempt.status_code is None
    assert attempt.error is not None and "non-public address (127.0.0.1)" in attempt.error


def test_a_host_with_any_private_address_is_refused_outright(dns: FakeDns) -> None:
    dns.answers["mixed.test"] = ["127.0.0.1"]
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url("https://mixed.test/hook", allow=("127.0.0.2/32",))


@pytest.mark.parametrize(
    "url",
    [
        "http://0x7f.1/hook",  # the resolver's shorthand for 127.0.0.1
        "http://127.0.0.1#@example.com/",
        "http://example.com\\@127.0.0.1/",
        "http://[::ffff:10.0.0.1]/",
        "http://example.com:99999/",
    ],
)
def test_urls_that_parsers_read_differently_are_refused(url: str) -> None:
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url(url)


def test_the_request_names_the_checked_address_and_keeps_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    answers = iter([[PUBLIC], ["10.0.0.7"]])
    _, job = deliver(
        "https://hooks.example/in?x=1",
        resolver=lambda host, port: next(answers),
        transport=httpx.MockTransport(handler),
    )
    [request] = seen
    assert request.url == httpx.URL(f"https://{PUBLIC}/in?x=1")
    assert request.headers["host"] == "hooks.example"
    assert request.extensions["sni_hostname"] == "hooks.example"
    assert job.webhook_state is WebhookState.DELIVERED


def test_redirects_are_not_followed(receivers: Callable[..., Receiver]) -> None:
    elsewhere = receivers()
    redirecting = receivers(
        statuses=(307,), headers={"location": f"http://127.0.0.1:{elsewhere.port}/steal"}
    )
    store, job = deliver(f"http://127.0.0.1:{redirecting.port}/hook", allow=("127.0.0.1",))
    assert len(redirecting.requests) == 1 and elsewhere.requests == []
    [attempt] = store.webhook_attempts(job.id)
    assert not attempt.ok and attempt.status_code == 307
    assert attempt.error is not None and "redirects are not followed" in attempt.error


# --- TLS: the certificate is checked against the host name, not the pinned address --------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and two server certificates: hooks.test and other.test (no IP SANs)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    root = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=songforge test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign", cwd=root)  # fmt: skip
    for name in ("hooks.test", "other.test"):
        (root / f"{name}.ext").write_text(f"subjectAltName=DNS:{name}\n")
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=root)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                 "-extfile", f"{name}.ext", cwd=root)  # fmt: skip
    return root


def _server_tls(pki: Path, name: str, sni_seen: list[str | None]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / f"{name}.pem", pki / f"{name}.key")

    def record(_sock: Any, server_name: str | None, _context: Any) -> None:
        sni_seen.append(server_name)

    context.sni_callback = record
    return context


def test_https_delivery_verifies_the_host_name_over_the_pinned_connection(
    pki: Path, dns: FakeDns, receivers: Callable[..., Receiver]
) -> None:
    sni_seen: list[str | None] = []
    server = receivers(tls=_server_tls(pki, "hooks.test", sni_seen))
    dns.answers["hooks.test"] = ["127.0.0.1", "127.0.0.2"]
    trust = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    store, job = deliver(
        f"https://hooks.test:{server.port}/hook", allow=("127.0.0.1/32",), verify=trust
    )
    assert job.webhook_state is WebhookState.DELIVERED, store.webhook_attempts(job.id)
    assert sni_seen == ["hooks.test"]
    assert [h["host"] for h, _ in server.requests] == [f"hooks.test:{server.port}"]
    assert dns.lookups["hooks.test"] == 1


def test_https_delivery_to_a_server_with_another_hosts_certificate_fails(
    pki: Path, dns: FakeDns, receivers: Callable[..., Receiver]
) -> None:
    server = receivers(tls=_server_tls(pki, "other.test", []))
    dns.answers["hooks.test"] = ["127.0.0.1"]
    trust = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    store, job = deliver(
        f"https://hooks.test:{server.port}/hook", allow=("127.0.0.1/32",), verify=trust
    )
    assert server.requests == []
    [attempt] = store.webhook_attempts(job.id)
    assert not attempt.ok and attempt.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.error
    assert job.webhook_state is WebhookState.PENDING  # a network failure is retried


def test_a_host_that_does_not_resolve_at_delivery_is_retried_not_given_up(
    dns: FakeDns, receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DNS failure can pass: the delivery is retried on the schedule, then goes through."""
    receiver = receivers(host="127.0.0.2")
    url = f"http://flaky-dns.test:{receiver.port}/hook"
    real = socket.getaddrinfo
    failures = [socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")]

    def sometimes_failing(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "flaky-dns.test" and failures:
            raise failures.pop()
        return real(host, *args, **kwargs)

    dns.answers["flaky-dns.test"] = ["127.0.0.2"]
    monkeypatch.setattr(socket, "getaddrinfo", sometimes_failing)
    store = MemoryJobStore()
    job = finished_job(store, url)
    dispatcher = WebhookDispatcher(
        store, KEY, retry_s=(0.0, 0.0), timeout_s=5.0, allow=("127.0.0.2/32",)
    )
    try:
        assert dispatcher.run_once() == 1
        first = store.get(job.id)
        assert first is not None and first.webhook_state is WebhookState.PENDING
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.close()
    done = store.get(job.id)
    assert done is not None and done.webhook_state is WebhookState.DELIVERED
    failed, delivered = store.webhook_attempts(job.id)
    assert failed.error is not None and "cannot resolve callback host" in failed.error
    assert delivered.ok and len(receiver.requests) == 1
