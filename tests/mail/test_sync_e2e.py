"""From `decide ... refuse` to the author's inbox: a real hub, the CLI and a real SMTP server.

The mail leaves only once the hub applied the decision; a decision the hub refuses (conflict)
cancels its mail; an unreachable author is recorded as not sent; a second sync sends nothing.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from moderation_hub.embedded import EmbeddedHub
from moderator_app.cli import main
from moderator_app.demo.memory_keyring import MemoryKeyring

from .support import SmtpServer


def _author(number: int, *, reachable: bool = True) -> dict[str, object]:
    return {
        "external_id": f"ext-{number}",
        "content": f"Il faut ouvrir un atelier de menuiserie numéro {number} en détention",
        "author_first_name": f"Auteur{number}",
        "author_email": f"author{number}@example.org",
        "author_reachable": reachable,
        "language": "fr",
        "created_at": datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=number),
    }


def test_refusal_mail_leaves_after_the_hub_confirms_and_only_once(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    keyring = MemoryKeyring()
    home = tmp_path / "alice"

    def cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", io.StringIO(stdin))
            code = main(["--home", str(home), *argv], environ={}, keyring_backend=keyring)
        out, err = capsys.readouterr()
        return code, out, err

    with EmbeddedHub(db_url=f"sqlite:///{tmp_path / 'hub.db'}") as hub:
        alice = hub.add_user("alice", "moderator")
        bob = hub.add_user("bob", "moderator")
        hub.add_question(
            "insertion",
            title="Comment améliorer l'insertion professionnelle des personnes condamnées ?",
            language="fr",
            rewrite_url_template="https://platform.example/{question}/rewrite/{external_id}",
        )
        reachable, unreachable, contested = (
            result.id
            for result in hub.ingest(
                question="insertion",
                proposals=[_author(1), _author(2, reachable=False), _author(3)],
            )
        )
        assert (
            cli("login", "--server", hub.url, "--user", "alice", "--token-stdin", stdin=alice)[0]
            == 0
        )
        assert cli(
            "mail", "configure", "--host", "127.0.0.1", "--port", str(server.port),
            "--security", "none", "--from", "moderation@platform.example",
        )[0] == 0  # fmt: skip
        assert cli("sync", "--claim", "2")[0] == 0  # alice holds the first two

        # Bob takes and accepts the third one at the hub while alice, offline, refuses it.
        with httpx.Client(
            base_url=hub.api_url, headers={"Authorization": f"Bearer {bob}"}, timeout=10
        ) as bob_client:
            answer = bob_client.post("/claims", json={"count": 1}).raise_for_status().json()
            [claimed] = answer["items"]
            assert claimed["id"] == contested
            bob_client.post(
                "/decisions",
                json={
                    "decisions": [
                        {
                            "id": str(uuid.uuid4()),
                            "proposal_id": contested,
                            "proposal_version": claimed["version"],
                            "outcome": "accept",
                            "charter_version": "1.0.0",
                            "decided_at": datetime.now(UTC).isoformat(),
                        }
                    ]
                },
            ).raise_for_status()

        for proposal_id in (reachable, unreachable, contested):
            code, _, err = cli(
                "decide", str(proposal_id), "refuse", "--reason", "off-topic",
                "--note", "Votre idée sur la menuiserie mérite sa place ailleurs.",
            )  # fmt: skip
            assert code == 0, err
        code, out, _ = cli("mail", "list", "--json")
        assert sorted(m["state"] for m in json.loads(out)) == [
            "not_sent",
            "waiting_hub",
            "waiting_hub",
        ]
        assert cli("mail", "send")[0] == 0
        assert server.handler.received == []  # nothing leaves before the hub confirmed

        code, out, err = cli("sync")
        assert code == 0, err
        assert "mail: 1 sent" in out
        code, out, _ = cli("mail", "list", "--json")
        states = {m["proposal_id"]: m["state"] for m in json.loads(out)}
        assert states == {reachable: "sent", unreachable: "not_sent", contested: "cancelled"}

        [received] = server.handler.received
        assert received.rcpt_tos == ["author1@example.org"]
        text = received.message.get_body(("plain",))
        assert text is not None
        body = text.get_content()
        assert "Il faut ouvrir un atelier de menuiserie numéro 1 en détention" in body
        assert "https://platform.example/insertion/rewrite/ext-1" in body
        assert "Votre idée sur la menuiserie mérite sa place ailleurs." in body

        assert cli("sync")[0] == 0
        assert len(server.handler.received) == 1
