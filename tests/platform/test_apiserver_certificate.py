"""The API server's certificate, made in a child process (the platform never loads
``cryptography``): a restart on the same host keeps it, so kubeconfigs written once stay
valid, without starting the child; a new bind host gets a new one; a data dir from
before the names record keeps its certificate; a child that fails names the data dir.
"""

import shutil
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from unkai.certificates import CA_FILE, CERT_FILE, KEY_FILE, NAMES_FILE
from unkai.platform.apiserver.tls import CertificateError, ensure_certificate


@pytest.fixture(name="made", scope="module")
def made_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One certificate made for 127.0.0.1 (one child for the module); tests copy it."""
    directory = tmp_path_factory.mktemp("made") / "platform"
    ensure_certificate(directory, host="127.0.0.1")
    return directory


@pytest.fixture(name="data_dir")
def data_dir_fixture(made: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "platform"
    shutil.copytree(made, directory)
    return directory


def names(directory: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in sans}


def trusted_by_its_ca(directory: Path, host: str) -> bool:
    """A TLS client trusting only ``ca.crt`` accepts the serving certificate for ``host``
    (checked by OpenSSL through an in-memory handshake)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / CERT_FILE, directory / KEY_FILE)
    client = ssl.create_default_context(cafile=str(directory / CA_FILE))
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_end = client.wrap_bio(to_client, to_server, server_hostname=host)
    back, forth = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_end = server.wrap_bio(back, forth, server_side=True)
    for _ in range(10):
        for end in (client_end, server_end):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError:
                return False
        back.write(to_server.read())
        to_client.write(forth.read())
        if client_end.version() is not None and server_end.version() is not None:
            return True
    raise AssertionError("the handshake did not finish")


def test_a_fresh_data_dir_gets_a_ca_and_a_loopback_certificate_with_a_private_key(
    made: Path,
) -> None:
    assert names(made) == {"localhost", "127.0.0.1", "::1"}
    assert stat.S_IMODE((made / KEY_FILE).stat().st_mode) == 0o600
    assert all(trusted_by_its_ca(made, host) for host in ("localhost", "127.0.0.1", "::1"))
    assert not trusted_by_its_ca(made, "example.com")


def test_a_restart_on_the_same_host_keeps_the_certificate_without_a_child(
    data_dir: Path,
) -> None:
    before = {path.name: path.read_bytes() for path in data_dir.iterdir()}
    record = (data_dir / NAMES_FILE).stat()
    for host in ("127.0.0.1", "localhost", "0:0::1"):  # an address as the user spells it
        ensure_certificate(data_dir, host=host)
    assert {path.name: path.read_bytes() for path in data_dir.iterdir()} == before
    # The child rewrites the record whenever it runs; untouched, no child ran.
    after = (data_dir / NAMES_FILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (record.st_ino, record.st_mtime_ns)


def test_a_new_bind_host_makes_a_new_certificate_for_it(data_dir: Path) -> None:
    ca = (data_dir / CA_FILE).read_bytes()
    ensure_certificate(data_dir, host="unkai.example")
    assert names(data_dir) == {"localhost", "127.0.0.1", "::1", "unkai.example"}
    assert (data_dir / CA_FILE).read_bytes() != ca
    assert trusted_by_its_ca(data_dir, "unkai.example")
    assert stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode) == 0o600


def test_a_data_dir_from_before_the_names_record_keeps_its_certificate(data_dir: Path) -> None:
    (data_dir / NAMES_FILE).unlink()
    cert = (data_dir / CERT_FILE).read_bytes()
    ensure_certificate(data_dir, host="::1")
    assert (data_dir / CERT_FILE).read_bytes() == cert
    assert (data_dir / NAMES_FILE).exists()  # the next restart needs no child


def test_a_certificate_that_cannot_be_made_names_the_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(CertificateError, match=f"TLS certificate in {blocker / 'platform'}"):
        ensure_certificate(blocker / "platform", host="127.0.0.1")
