"""Teams clean-up: only this bot's mention goes; HTML copies are preferred; the client locale is found."""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity

from bot.channel.channel_text import client_locale, html_to_text, message_text

BOT = {"id": "28:bot", "name": "Analytics"}


def activity(**fields: Any) -> Activity:
    body = {"type": "message", "recipient": BOT, "from": {"id": "29:user"}, **fields}
    return Activity().deserialize(body)


def mention(entity_id: str, name: str) -> dict[str, Any]:
    return {"type": "mention", "text": f"<at>{name}</at>", "mentioned": {"id": entity_id, "name": name}}


def test_only_the_bots_own_mention_is_removed_not_its_name_elsewhere() -> None:
    text = "<at>Analytics</at> There was an error during Desktop Analytics onboarding"
    got = message_text(activity(text=text, entities=[mention("28:bot", "Analytics")]))
    assert got == "There was an error during Desktop Analytics onboarding"


def test_mentions_of_other_people_stay_for_the_engine_to_ignore() -> None:
    text = "<at>Analytics</at> <at>Kim</at> Ett fel uppstod"
    got = message_text(activity(text=text, entities=[mention("28:bot", "Analytics"), mention("29:kim", "Kim")]))
    assert got == "<at>Kim</at> Ett fel uppstod"


def test_html_attachment_is_preferred_for_rich_pastes() -> None:
    html = "<p>Ett fel uppstod vid validering av &quot;åtkomsttoken&quot;<br>rad två</p>"
    got = message_text(activity(text="Ett fel uppstod vid validering av", attachments=[
        {"contentType": "text/html", "content": html}]))
    assert got == 'Ett fel uppstod vid validering av "åtkomsttoken"\nrad två'


def test_html_to_text_keeps_line_breaks_and_decodes_entities() -> None:
    assert html_to_text("<div>a&amp;b</div><div>c</div>") == "\na&b\n\nc\n"


def test_client_locale_from_activity_then_client_info() -> None:
    assert client_locale(activity(locale="sv-SE", entities=[{"type": "clientInfo", "locale": "ko-KR"}])) == "sv-SE"
    assert client_locale(activity(entities=[{"type": "clientInfo", "locale": "ko-KR"}])) == "ko-KR"
    assert client_locale(activity()) is None


def teams_html(*mentions: tuple[int, str]) -> str:
    spans = "".join(f'<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="{i}">{name}</span>&nbsp;'
                    for i, name in mentions)
    return f"<div><div>{spans}Analytics onboarding: &quot;Ett fel uppstod&quot;</div>\n</div>"


def test_teams_html_mention_span_of_the_bot_is_removed_by_its_position() -> None:
    got = message_text(activity(
        text="<at>Analytics</at> <at>Kim</at> Analytics onboarding: \"Ett fel uppstod\"",
        entities=[mention("28:bot", "Analytics"), mention("29:kim", "Kim")],
        attachments=[{"contentType": "text/html", "content": teams_html((0, "Analytics"), (1, "Kim"))}],
    ))
    assert " ".join(got.split()) == 'Kim Analytics onboarding: "Ett fel uppstod"'


def test_a_person_who_shares_the_bots_name_keeps_their_mention() -> None:
    got = message_text(activity(
        text="<at>Analytics</at> <at>Analytics</at> Analytics onboarding: \"Ett fel uppstod\"",
        entities=[mention("29:person", "Analytics"), mention("28:bot", "Analytics")],
        attachments=[{"contentType": "text/html", "content": teams_html((0, "Analytics"), (1, "Analytics"))}],
    ))
    assert " ".join(got.split()) == 'Analytics Analytics onboarding: "Ett fel uppstod"'


def test_html_at_tags_without_positions_match_the_bots_name() -> None:
    html = '<p><at id="7">Analytics</at> Ett fel uppstod</p>'
    got = message_text(activity(text="x", entities=[mention("28:bot", "Analytics")],
                                attachments=[{"contentType": "text/html", "content": html}]))
    assert got == "Ett fel uppstod"


def test_without_a_bot_mention_the_text_is_kept_whole() -> None:
    got = message_text(activity(text="Analytics says <at>Kim</at> hi", entities=[mention("29:kim", "Kim")]))
    assert got == "Analytics says <at>Kim</at> hi"


def test_a_huge_unclosed_html_paste_is_read_in_linear_time() -> None:
    html = "<at>" * 200_000 + "Ett fel uppstod"
    got = message_text(activity(text="x", entities=[mention("28:bot", "Analytics")],
                                attachments=[{"contentType": "text/html", "content": html}]))
    assert got.endswith("Ett fel uppstod")
