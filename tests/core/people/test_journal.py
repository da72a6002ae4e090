"""The journal: entries, filters, CSV, insight and the per-profile figures for Home Assistant."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from hub.core import Hub
from hub.errors import InvalidCommand, NotFound
from tests.rigs.support import wait_for
from tests.rigs.web_fixtures import Api, api, app, client, token  # noqa: F401


def session_for(hub: Hub, who: list[str], scene: str = "swedish", minutes: int = 20) -> int:
    sid = int(hub.sessions.start(scene, minutes, profiles=who)["id"])
    hub.sessions.stop()  # in the pre-warm: it ends at once
    assert hub.sessions.current is None
    return sid


def rate(hub: Hub, sid: int, who: str, before: int, after: int) -> None:
    hub.people.add_journal_entry(
        {"session_id": sid, "profile": who, "when": "before", "stress": before}
    )
    hub.people.add_journal_entry(
        {"session_id": sid, "profile": who, "when": "after", "stress": after}
    )


@pytest.fixture
def people(hub: Hub) -> Hub:
    hub.people.create({"name": "Ann"})
    hub.people.create({"name": "Bob"})
    return hub


def test_an_entry_is_tied_to_a_session_and_a_person(people: Hub) -> None:
    hub = people
    sid = session_for(hub, ["ann"])
    e = hub.people.add_journal_entry(
        {
            "session_id": sid,
            "profile": "ann",
            "when": "before",
            "stress": 7,
            "areas": ["neck", "neck", "shoulders"],
            "note": "long week",
        }
    )
    assert e["areas"] == ["neck", "shoulders"] and e["id"] > 0
    # the same moment again replaces (a mistap is corrected by tapping again)
    hub.people.add_journal_entry(
        {"session_id": sid, "profile": "ann", "when": "before", "stress": 6}
    )
    rows = hub.people.journal_entries("ann")
    assert [(r["when"], r["stress"], r["scene"]) for r in rows] == [("before", 6, "swedish")]
    hub.people.add_journal_entry(
        {"session_id": sid, "profile": "ann", "when": "morning", "sleep": 4}
    )
    history = hub.sessions.history()
    assert history[0]["people"] == [
        {"profile": "ann", "name": "Ann", "pad": None, "before": 6, "after": None, "sleep": 4}
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"session_id": 1, "profile": "ann", "when": "before"}, "the before entry needs stress"),
        ({"session_id": 1, "profile": "ann", "when": "after", "stress": 11}, "stress"),
        ({"session_id": 1, "profile": "ann", "when": "before", "stress": 3, "sleep": 2}, "sleep"),
        ({"session_id": 1, "profile": "ann", "when": "morning"}, "morning entry needs sleep"),
        ({"session_id": 1, "profile": "ann", "when": "morning", "sleep": 0}, "sleep"),
        ({"session_id": 1, "profile": "ann", "when": "later", "stress": 3}, "when"),
        ({"session_id": 1, "profile": "ann", "when": "before", "stress": "3"}, "stress"),
        (
            {"session_id": 99, "profile": "ann", "when": "before", "stress": 3},
            "no session number 99",
        ),
        ({"session_id": 1, "profile": "zoe", "when": "before", "stress": 3}, "no profile called"),
        ({"session_id": 1, "profile": "bob", "when": "before", "stress": 3}, "Bob was not in"),
        ({"session_id": 1, "profile": "ann", "when": "before", "stress": 3, "mood": 1}, "mood"),
        (
            {"session_id": 1, "profile": "ann", "when": "before", "stress": 3, "areas": ["x"]},
            "areas",
        ),
    ],
)
def test_bad_entries_are_refused_and_change_nothing(
    people: Hub, body: dict[str, Any], says: str
) -> None:
    hub = people
    assert session_for(hub, ["ann"]) == 1
    with pytest.raises(InvalidCommand) as err:
        hub.people.add_journal_entry(body)
    assert says in err.value.message
    assert hub.people.journal_entries() == []


def test_a_session_without_people_takes_the_person_who_writes(people: Hub) -> None:
    hub = people
    sid = int(hub.sessions.start("swedish", 20)["id"])
    hub.people.add_journal_entry(
        {"session_id": sid, "profile": "bob", "when": "before", "stress": 5}
    )
    assert [p["name"] for p in hub.sessions.history()[0]["people"]] == ["Bob"]


def test_deleting_a_profile_deletes_its_journal_and_history_keeps_the_name(people: Hub) -> None:
    hub = people
    sid = session_for(hub, ["ann"])
    rate(hub, sid, "ann", 6, 2)
    hub.people.delete("ann")
    assert hub.people.journal_entries() == []
    assert hub.sessions.history()[0]["people"][0]["name"] == "Ann"


def test_filters_by_profile_and_days(people: Hub) -> None:
    hub = people
    a = session_for(hub, ["ann", "bob"])
    rate(hub, a, "ann", 5, 3)
    rate(hub, a, "bob", 8, 8)
    assert {r["profile"] for r in hub.people.journal_entries("bob")} == {"bob"}
    day = hub.sessions.history()[0]["started_at"][:10]
    assert len(hub.people.journal_entries(None, day, day)) == 4
    assert hub.people.journal_entries(None, "2000-01-01", "2000-01-02") == []
    with pytest.raises(InvalidCommand, match="from: use a date like"):
        hub.people.journal_entries(None, "yesterday")
    with pytest.raises(InvalidCommand, match="not a real date"):
        hub.people.journal_entries(None, "2026-02-30")
    with pytest.raises(InvalidCommand, match="to: must not be before from"):
        hub.people.journal_entries(None, "2026-03-02", "2026-03-01")


def test_insight_says_not_enough_below_five_sessions_then_shows_counts(people: Hub) -> None:
    hub = people
    for _ in range(4):
        rate(hub, session_for(hub, ["ann"]), "ann", 7, 3)
    out = hub.people.journal_insight("ann")
    assert out["sessions"] == 4 and out["enough"] is False
    assert out["message"] == "not enough sessions yet" and out["average_drop"] is None
    assert out["scenes"] == [
        {
            "scene": "Swedish",
            "sessions": 4,
            "average_drop": None,
            "message": "not enough sessions yet",
        }
    ]
    rate(hub, session_for(hub, ["ann"]), "ann", 6, 5)
    for _ in range(2):
        rate(hub, session_for(hub, ["ann"], "deep-tissue"), "ann", 9, 1)
    out = hub.people.journal_insight("ann")
    assert out["enough"] is True and out["message"] is None and out["sessions"] == 7
    assert out["average_drop"] == pytest.approx(round((4 * 4 + 1 + 2 * 8) / 7, 1))
    # the scene with the biggest drop has too few sessions to be ranked as a figure
    assert out["scenes"] == [
        {"scene": "Swedish", "sessions": 5, "average_drop": 3.4, "message": None},
        {
            "scene": "Deep tissue",
            "sessions": 2,
            "average_drop": None,
            "message": "not enough sessions yet",
        },
    ]
    week = out["weeks"][0]
    assert week["entries"] == {"before": 7, "after": 7, "morning": 0} and week["sleep"] is None
    with pytest.raises(NotFound):
        hub.people.journal_insight("nobody")


def test_sensors_per_profile_for_home_assistant(people: Hub) -> None:
    hub = people
    assert hub.people.sensors()["ann"] == {
        "name": "Ann",
        "stress_change": None,
        "stress_session": None,
        "sleep": None,
        "sleep_night_of": None,
    }
    first = session_for(hub, ["ann"])
    rate(hub, first, "ann", 8, 4)
    second = session_for(hub, ["ann"])
    rate(hub, second, "ann", 5, 6)
    hub.people.add_journal_entry(
        {"session_id": first, "profile": "ann", "when": "morning", "sleep": 2}
    )
    hub.people.add_journal_entry(
        {"session_id": second, "profile": "ann", "when": "morning", "sleep": 5}
    )
    out = hub.people.sensors()["ann"]
    assert out["stress_change"] == 1 and out["stress_session"] == second
    assert out["sleep"] == 5
    assert hub.people.sensors()["bob"]["stress_change"] is None


# --- over HTTP ------------------------------------------------------------------------------


def test_journal_over_http_with_csv(api: Api, hub: Hub) -> None:
    api.post("/profiles", json={"name": "Cy"})
    sid = api.post("/session", json={"scene": "swedish", "minutes": 20, "profiles": ["cy"]}).json[
        "id"
    ]
    r = api.post(
        "/journal",
        json={"session_id": sid, "profile": "cy", "when": "before", "stress": 8, "note": "=1+1"},
    )
    assert r.status_code == 201, r.json
    api.post(
        "/journal",
        json={"session_id": sid, "profile": "cy", "when": "after", "stress": 3, "areas": ["feet"]},
    )
    r = api.get("/journal?profile=cy")
    assert [(e["when"], e["stress"]) for e in r.json["entries"]] == [("before", 8), ("after", 3)]
    r = api.get("/journal.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [(x["name"], x["when"], x["stress"], x["areas"]) for x in rows] == [
        ("Cy", "before", "8", ""),
        ("Cy", "after", "3", "feet"),
    ]
    assert rows[0]["note"] == "'=1+1"  # a spreadsheet never runs a note as a formula
    r = api.get("/journal/insight?profile=cy")
    assert r.status_code == 200 and r.json["message"] == "not enough sessions yet"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("from=last-week", "from: use a date like 2026-03-01"),
        ("to=2026-13-01", "to: '2026-13-01' is not a real date"),
        ("who=me", "who: unknown query parameter"),
    ],
)
def test_bad_journal_queries_say_why(api: Api, query: str, says: str) -> None:
    for path in ("/journal", "/journal.csv"):
        r = api.get(f"{path}?{query}")
        assert r.status_code == 422, r.get_data(as_text=True)
        assert says in r.json["error"]["message"]


def test_a_bad_journal_body_over_http(api: Api) -> None:
    r = api.post("/journal", json={"session_id": 1, "profile": "x", "when": "before"})
    assert r.status_code == 422
    assert r.json["error"]["message"] == "stress: the before entry needs stress, from 0 to 10"


def test_sensors_over_http(api: Api, hub: Hub) -> None:
    api.post("/profiles", json={"name": "Di"})
    sid = api.post("/session", json={"scene": "swedish", "minutes": 20, "profiles": ["di"]}).json[
        "id"
    ]
    for when, stress in (("before", 9), ("after", 4)):
        api.post(
            "/journal", json={"session_id": sid, "profile": "di", "when": when, "stress": stress}
        )
    r = api.get("/people/sensors")
    assert r.status_code == 200
    assert r.json["di"]["stress_change"] == -5 and r.json["di"]["sleep"] is None


# --- "before", sent with the start (the start form asks it while the person sits up) --------


def test_before_ratings_sent_with_the_start_are_in_the_journal_for_that_session(
    people: Hub,
) -> None:
    hub = people
    before = {"ann": {"stress": 7, "areas": ["neck", "neck"]}, "bob": {"stress": 4}}
    sid = int(hub.sessions.start("swedish", 20, profiles=["ann", "bob"], before=before)["id"])
    rows = hub.people.journal_entries()
    assert [(r["session_id"], r["profile"], r["when"], r["stress"], r["areas"]) for r in rows] == [
        (sid, "ann", "before", 7, ["neck"]),
        (sid, "bob", "before", 4, []),
    ]
    assert {p["profile"]: p["before"] for p in hub.sessions.history()[0]["people"]} == {
        "ann": 7,
        "bob": 4,
    }


@pytest.mark.parametrize(
    ("profiles", "before", "says"),
    [
        (["ann"], {"ann": {"stress": 11}}, "before.ann.stress"),
        (["ann"], {"ann": {"stress": "5"}}, "before.ann.stress"),
        (["ann"], {"ann": {}}, "before.ann.stress"),
        (["ann"], {"ann": {"stress": 5, "areas": ["tail"]}}, "before.ann.areas"),
        (["ann"], {"ann": {"stress": 5, "mood": 2}}, "before.ann.mood: unknown field"),
        (["ann"], {"zoe": {"stress": 5}}, "before: no profile called 'zoe'"),
        (["ann"], {"bob": {"stress": 5}}, "Bob is not in this session (it is for Ann)"),
        (None, {"bob": {"stress": 5}}, "Bob is not in this session (nobody is picked)"),
        (["ann"], [5], "before"),
    ],
)
def test_bad_before_ratings_start_nothing_and_write_nothing(
    people: Hub, profiles: Any, before: Any, says: str
) -> None:
    hub = people
    with pytest.raises(InvalidCommand) as err:
        hub.sessions.start("swedish", 20, profiles=profiles, before=before)
    assert says in err.value.message, err.value.message
    assert (
        hub.sessions.current is None
        and hub.sessions.history() == []
        and hub.people.journal_entries() == []
    )
    assert hub.state()["table"]["people"] == []  # nobody was put on the table either


def test_before_over_http_and_its_error_in_words(api: Api, hub: Hub) -> None:
    api.post("/profiles", json={"name": "Cy"})
    body = {"scene": "swedish", "minutes": 20, "profiles": ["cy"], "before": {"cy": {"stress": 6}}}
    r = api.post("/session", json=body)
    assert r.status_code == 201, r.json
    # written with the session's own records, by the recorder's thread: wait for it
    entries = lambda: api.get("/journal").json["entries"]  # noqa: E731
    wait_for(lambda: entries(), timeout=10)
    assert [(e["session_id"], e["stress"]) for e in entries()] == [(r.json["id"], 6)]
    api.delete("/session")
    bad = {**body, "before": {"cy": {"stress": 12}}}
    r = api.post("/session", json=bad)
    assert r.status_code == 422
    assert r.json["error"]["message"].startswith("before.cy.stress: must be at most 10")
    assert api.get("/state").json["session"] is None
