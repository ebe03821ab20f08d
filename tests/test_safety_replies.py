"""Each person gets the right help: a caregiver in crisis the crisis reply, a child at risk the safeguarding one,
both when both; refusals say why and what to do instead; a venting parent gets calm help, not an alarm; every
health answer opens with its entry's red flags for the child's age."""

from __future__ import annotations

import pytest


def ask(runtime, text, lang="en", age=None):
    return runtime.answerer.answer(text, lang, age, log_question=False)


def test_a_caregivers_own_crisis_never_gets_the_child_emergency_reply(runtime):
    result = ask(runtime, "I sometimes wish I could go to sleep and not wake up. baby's 7 weeks")
    assert result.kind == "crisis" and "Your child needs emergency help" not in result.text
    assert "12356" in result.text and "stay with you" in result.text


def test_a_message_that_is_both_crisis_and_safeguarding_shows_both_parts(runtime):
    result = ask(runtime, "my partner shook the baby last night and honestly I want to die")
    assert {"crisis", "safeguarding"} <= set(result.levels)
    assert "12356" in result.text and "12338" in result.text


@pytest.mark.parametrize("text, lang, sign, reason", [
    ("what antihistamine can I give her to knock her out for the flight", "en", "sedating_a_baby", "not safe for sleep"),
    ("有什么药能让宝宝一觉睡到天亮", "zh", "sedating_a_baby", "并不安全"),
    ("can I give my 2 year old one of my aspirin", "en", "adult_medicine_for_child", "never for children under 16"),
    ("大人的退烧药掰一半给宝宝吃可以吗", "zh", "adult_medicine_for_child", "阿司匹林"),
    ("grandma wants to rub him with alcohol to bring the fever down", "en", "harmful_folk_practice", "alcohol"),
    ("老人说女宝宝要挤乳头，怎么挤", "zh", "harmful_folk_practice", "挤新生儿乳头"),
])
def test_harmful_requests_are_refused_with_the_reason_and_a_safe_alternative(runtime, text, lang, sign, reason):
    result = ask(runtime, text, lang)
    assert result.kind == "refused" and sign in result.signs and reason in result.text


@pytest.mark.parametrize("text, lang", [
    ("this fucking baby won't stop crying and I'm so done, what the hell do I do", "en"),
    ("烦死了，这破孩子哭了一晚上，我要疯了，怎么办", "zh"),
])
def test_a_venting_parent_gets_a_calm_reply_with_the_crying_plan_not_an_alarm(runtime, text, lang):
    result = ask(runtime, text, lang)
    assert result.kind == "answer" and result.venting and result.topic in ("crying", "wellbeing")
    assert ("step away" in result.text) if lang == "en" else ("走开几分钟" in result.text)


def test_the_safety_box_uses_the_childs_age(runtime):
    young = ask(runtime, "what counts as a fever in a baby", age=1)
    older = ask(runtime, "what counts as a fever in a baby", age=24)
    assert young.entry_id == older.entry_id == "health-fever-what-counts-by-age"
    assert any("Under 3 months" in row["text"] for row in young.safety_box)
    assert not any("Under 3 months" in row["text"] for row in older.safety_box)
    assert 1 <= len(older.safety_box) <= 4
    assert older.text.startswith("⚠️ When to get help\nCall 120 now if:")
