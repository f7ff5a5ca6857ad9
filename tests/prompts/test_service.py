"""Managers' own prompts on a real database: add, edit, retire, list, import, duplicates, limits."""

from __future__ import annotations

import pytest

from bot.core.clock import FrozenClock
from bot.core.db import Database
from bot.core.errors import InvalidValue, NotFound, UserError
from bot.prompts.service import MAX_IMPORT_LINES, PromptService

GUILD, OTHER_GUILD, MANAGER = 10, 20, 99


@pytest.fixture
def prompts(db: Database, clock: FrozenClock) -> PromptService:
    return PromptService(db, clock)


async def test_add_then_list_and_duplicates_are_refused_whatever_the_case_and_spacing(
    prompts: PromptService, db: Database
) -> None:
    added = await prompts.add(GUILD, MANAGER, "opinion", "  What makes a   good weekend? ")
    assert added.text == "What makes a good weekend?"
    with pytest.raises(UserError) as caught:
        await prompts.add(GUILD, MANAGER, "icebreaker", "what MAKES a good weekend?")
    assert caught.value.key == "prompts.error.duplicate"
    # Another server may hold the same text.
    await prompts.add(OTHER_GUILD, MANAGER, "opinion", "What makes a good weekend?")
    page, total = await prompts.page(GUILD)
    assert (total, [p.text for p in page]) == (1, ["What makes a good weekend?"])
    assert await db.fetchval("SELECT COUNT(*) FROM prompts") == 2


@pytest.mark.parametrize(
    ("kind", "text", "options", "key"),
    [
        ("trivia", "Capital of France?", (), "prompts.error.kind"),
        ("opinion", "   ", (), "prompts.error.empty"),
        ("opinion", "x" * 1001, (), "prompts.error.too_long"),
        ("this-or-that", "q" * 301 + "?", ("A", "B"), "prompts.error.too_long"),
        ("this-or-that", "Tea or coffee?", ("Tea",), "prompts.error.options"),
        ("this-or-that", "Tea or coffee?", ("Tea", " tea "), "prompts.error.options"),
        ("this-or-that", "Tea or coffee?", ("Tea", "c" * 56), "prompts.error.option_too_long"),
        ("opinion", "Tea or coffee?", ("Tea", "Coffee"), "prompts.error.options_not_allowed"),
    ],
)
async def test_bad_prompts_are_refused_and_nothing_is_stored(
    prompts: PromptService, db: Database, kind: str, text: str, options: tuple[str, ...], key: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        await prompts.add(GUILD, MANAGER, kind, text, options)
    assert caught.value.key == key
    assert await db.fetchval("SELECT COUNT(*) FROM prompts") == 0


async def test_edit_retags_and_checks_the_result_as_a_whole(prompts: PromptService) -> None:
    first = await prompts.add(GUILD, MANAGER, "opinion", "Best season?")
    second = await prompts.add(GUILD, MANAGER, "opinion", "Best snack?")
    edited = await prompts.edit(GUILD, first.id, kind="this-or-that", options=("Summer", "Winter"))
    assert (edited.kind, edited.options) == ("this-or-that", ("Summer", "Winter"))
    with pytest.raises(UserError) as caught:
        await prompts.edit(GUILD, second.id, text="BEST season?")
    assert caught.value.key == "prompts.error.duplicate"
    assert (await prompts.get(GUILD, second.id)).text == "Best snack?"
    # Changing kind away from this-or-that drops the options rather than refusing.
    back = await prompts.edit(GUILD, first.id, kind="opinion")
    assert back.options == ()
    with pytest.raises(NotFound):
        await prompts.edit(OTHER_GUILD, first.id, text="Mine now")


async def test_retire_frees_the_text_and_leaves_the_rotation(prompts: PromptService) -> None:
    prompt = await prompts.add(GUILD, MANAGER, "icebreaker", "Favourite sound?")
    retired = await prompts.retire(GUILD, prompt.id)
    assert retired.retired
    assert await prompts.live(GUILD) == []
    with pytest.raises(UserError) as caught:
        await prompts.retire(GUILD, prompt.id)
    assert caught.value.key == "prompts.error.retired"
    again = await prompts.add(GUILD, MANAGER, "icebreaker", "favourite sound?")
    assert [p.id for p in await prompts.live(GUILD)] == [again.id]


async def test_import_adds_lines_and_skips_duplicates(prompts: PromptService) -> None:
    await prompts.add(GUILD, MANAGER, "icebreaker", "Where did you grow up?")
    result = await prompts.import_lines(
        GUILD,
        MANAGER,
        "icebreaker",
        "Where did you grow up?\n\nFirst concert?\nfirst   CONCERT?\nBest view?\n",
    )
    assert (result.added, result.duplicates) == (2, 2)
    assert sorted(p.text for p in await prompts.live(GUILD, ("icebreaker",))) == [
        "Best view?",
        "First concert?",
        "Where did you grow up?",
    ]


async def test_import_of_this_or_that_reads_options_after_bars(prompts: PromptService) -> None:
    result = await prompts.import_lines(GUILD, MANAGER, "this-or-that", "Tea or coffee? | Tea | Coffee")
    assert result.added == 1
    assert (await prompts.live(GUILD))[0].options == ("Tea", "Coffee")


async def test_a_bad_line_refuses_the_whole_import(prompts: PromptService, db: Database) -> None:
    with pytest.raises(InvalidValue) as caught:
        await prompts.import_lines(GUILD, MANAGER, "opinion", "Fine one?\n" + "x" * 1001 + "\nAnother?")
    assert (caught.value.key, caught.value.params) == ("prompts.error.import_line", {"line": 2})
    assert await db.fetchval("SELECT COUNT(*) FROM prompts") == 0
    with pytest.raises(InvalidValue) as caught:
        await prompts.import_lines(GUILD, MANAGER, "opinion", "\n  \n")
    assert caught.value.key == "prompts.error.import_empty"
    with pytest.raises(InvalidValue) as caught:
        await prompts.import_lines(
            GUILD, MANAGER, "opinion", "\n".join(f"Q{i}?" for i in range(MAX_IMPORT_LINES + 1))
        )
    assert caught.value.key == "prompts.error.import_too_many"
