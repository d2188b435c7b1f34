"""docs/warehouse.md stays true to the warehouse schema.

The researchers' reference has one section per table and view of a freshly migrated warehouse:

    ### `name`
    Table ... / View ...  (one line saying what one row is)

    | column | type | meaning |
    |---|---|---|
    | `column_name` | `DATA TYPE` | what it holds |

The first test compares those sections with ``information_schema`` and lists every difference.
The second checks that each recipe under "## Recipes" is a single read-only statement over the
relations researchers get in the snapshot. Executing the recipes needs a filled warehouse and is
done elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from warehouse import publish
from warehouse.db import connect

DOCS = Path(__file__).resolve().parent.parent / "docs" / "warehouse.md"

# What the snapshot (and so the recipes) may use; the docs' intro lists the same relations.
SNAPSHOT_RELATIONS = frozenset(publish.SNAPSHOT_RELATIONS)

# The "## " group a relation's section must be under.
VIEWS_GROUP = "Researcher views"
SNAPSHOT_GROUP = "Tables in the snapshot"
INTERNAL_GROUP = "Internal tables"

SECTION = re.compile(r"^### `([A-Za-z_][A-Za-z0-9_]*)`$")
TABLE_HEADER = "| column | type | meaning |"
TABLE_RULE = re.compile(r"^\|(\s*:?-{3,}:?\s*\|){3}$")
CODE = re.compile(r"^`([^`]+)`$")


@dataclass
class Section:
    name: str
    line: int
    group: str | None
    kind_line: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    has_table: bool = False


def _relations(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """{relation: (table_type, {column: data_type})} of schema main of a freshly migrated warehouse."""
    with connect(path) as con:
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        )
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
    relations: dict[str, tuple[str, dict[str, str]]] = {name: (kind, {}) for name, kind in kinds.items()}
    for table, column, data_type in rows:
        relations[table][1][column] = data_type
    return relations


def _parse_sections(text: str) -> tuple[dict[str, Section], list[str]]:
    """The relation sections of the docs, and the problems found while reading them."""
    sections: dict[str, Section] = {}
    problems: list[str] = []
    lines = text.splitlines()
    group: str | None = None
    current: Section | None = None
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_fence = not in_fence
            i += 1
            continue
        if in_fence:
            i += 1
            continue
        if line.startswith("## "):
            group, current = line[3:].strip(), None
        elif line.startswith("### "):
            match = SECTION.match(line)
            current = None
            if line.startswith("### `") and match is None:
                problems.append(f"line {i + 1}: malformed section heading {line!r}; write ### `name`")
            elif match is not None:
                name = match.group(1)
                if name in sections:
                    problems.append(f"line {i + 1}: second section for `{name}`")
                current = Section(name, i + 1, group)
                sections[name] = current
                following = [rest for rest in lines[i + 1 :] if rest.strip()]
                current.kind_line = following[0] if following else ""
        elif line.startswith("#"):
            current = None
        elif current is not None and line.strip() == TABLE_HEADER:
            if current.has_table:
                problems.append(f"line {i + 1}: section `{current.name}` has a second column table")
            current.has_table = True
            if i + 1 >= len(lines) or not TABLE_RULE.match(lines[i + 1].strip()):
                problems.append(f"line {i + 2}: `{current.name}`: expected |---|---|---| under the header")
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                _parse_row(current, lines[i], i + 1, problems)
                i += 1
            continue
        elif current is not None and line.startswith("|") and not current.has_table:
            problems.append(f"line {i + 1}: `{current.name}`: table header must be exactly {TABLE_HEADER!r}")
        i += 1
    return sections, problems


def _parse_row(section: Section, line: str, number: int, problems: list[str]) -> None:
    stripped = line.strip()
    cells = [c.strip() for c in stripped[1:-1].split("|")] if stripped.endswith("|") else []
    if len(cells) != 3:
        problems.append(
            f"line {number}: `{section.name}`: a row needs exactly 3 cells "
            f"(no '|' inside a meaning), got {line!r}"
        )
        return
    column, data_type, meaning = (CODE.match(cells[0]), CODE.match(cells[1]), cells[2])
    if column is None or data_type is None:
        problems.append(f"line {number}: `{section.name}`: write the column and type in backticks: {line!r}")
        return
    name = column.group(1)
    if name in section.columns:
        problems.append(f"line {number}: `{section.name}.{name}` is documented twice")
    if not meaning:
        problems.append(f"line {number}: `{section.name}.{name}` has no meaning")
    section.columns[name] = data_type.group(1)


def _expected_group(name: str, kind: str) -> str:
    if kind == "VIEW":
        return VIEWS_GROUP
    return SNAPSHOT_GROUP if name in SNAPSHOT_RELATIONS else INTERNAL_GROUP


def _schema_problems(relations: dict[str, tuple[str, dict[str, str]]], text: str) -> list[str]:
    """Every difference between the relations of the schema and the sections of the docs."""
    sections, problems = _parse_sections(text)

    for name in sorted(set(relations) - set(sections)):
        kind, columns = relations[name]
        label = "view" if kind == "VIEW" else "table"
        problems.append(
            f"{label} `{name}` has no section: add ### `{name}` under '## {_expected_group(name, kind)}' "
            f"with a row for each of its columns {sorted(columns)}"
        )
    for name in sorted(set(sections) - set(relations)):
        problems.append(
            f"line {sections[name].line}: section ### `{name}` documents a relation that does not exist"
        )

    for name in sorted(set(relations) & set(sections)):
        kind, columns = relations[name]
        section = sections[name]
        where = f"### `{name}` (line {section.line})"
        if not section.has_table:
            problems.append(f"{where} has no table with the header {TABLE_HEADER!r}")
            continue
        word = "View" if kind == "VIEW" else "Table"
        if not section.kind_line.startswith(word):
            problems.append(
                f"{where}: the line under the heading must start with {word!r} and say what one row is, "
                f"got {section.kind_line!r}"
            )
        expected_group = _expected_group(name, kind)
        if section.group != expected_group:
            problems.append(f"{where} is under '## {section.group}', expected '## {expected_group}'")
        for column, data_type in columns.items():
            if column not in section.columns:
                row = f"| `{column}` | `{data_type}` | ... |"
                problems.append(f"`{name}.{column}` is not documented: add the row {row} to {where}")
            elif section.columns[column] != data_type:
                problems.append(
                    f"`{name}.{column}`: documented type `{section.columns[column]}`, "
                    f"the schema says `{data_type}`"
                )
        for column in section.columns:
            if column not in columns:
                problems.append(f"`{name}.{column}` is documented in {where} but does not exist")
    return problems


def test_every_relation_and_column_is_documented_with_its_type(tmp_path: Path) -> None:
    problems = _schema_problems(_relations(tmp_path / "w.duckdb"), DOCS.read_text(encoding="utf-8"))
    assert not problems, f"{DOCS} is out of step with the schema:\n- " + "\n- ".join(problems)


# --- recipes ---------------------------------------------------------------------------------------

RECIPE_HEADING = re.compile(r"^#### (\S.*)$")
STRING = re.compile(r"'(?:[^']|'')*'")
COMMENT = re.compile(r"--[^\n]*")
RELATION_AFTER = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)
CTE_NAME = re.compile(r"(?:\bWITH|,)\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s*\(", re.IGNORECASE)


@dataclass
class Recipe:
    title: str
    line: int
    prose: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)


def _recipes(text: str) -> list[Recipe]:
    lines = text.splitlines()
    try:
        start = lines.index("## Recipes")
    except ValueError:
        pytest.fail(f"{DOCS}: no '## Recipes' section")
    recipes: list[Recipe] = []
    fence: list[str] | None = None
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if fence is not None:
            if line.startswith("```"):
                if recipes:
                    recipes[-1].blocks.append("\n".join(fence))
                fence = None
            else:
                fence.append(line)
            continue
        if line.startswith("## "):
            break
        if line.startswith("```"):
            assert recipes, f"{DOCS}: line {number}: a code block before the first #### recipe heading"
            assert line == "```sql", f"{DOCS}: line {number}: recipe blocks must be ```sql, got {line!r}"
            fence = []
        elif match := RECIPE_HEADING.match(line):
            recipes.append(Recipe(match.group(1), number))
        elif line.startswith("#"):
            pytest.fail(f"{DOCS}: line {number}: only #### headings belong in the recipes, got {line!r}")
        elif recipes and line.strip():
            recipes[-1].prose.append(line)
    assert fence is None, f"{DOCS}: the recipes end inside an unclosed code block"
    return recipes


def _recipe_problems(recipe: Recipe) -> list[str]:
    where = f"recipe '{recipe.title}' (line {recipe.line})"
    if not recipe.prose:
        return [f"{where}: say in one sentence what it answers"]
    if len(recipe.blocks) != 1:
        return [f"{where}: needs exactly one ```sql block, has {len(recipe.blocks)}"]
    sql = COMMENT.sub(" ", STRING.sub("''", recipe.blocks[0])).strip()
    problems = []
    body = sql.removesuffix(";").strip()
    if ";" in body:
        problems.append(f"{where}: one statement per recipe (found a ';' before the end)")
    if not re.match(r"(SELECT|WITH)\b", body, re.IGNORECASE):
        problems.append(f"{where}: a recipe is a query and starts with SELECT or WITH")
    ctes = {name.lower() for name in CTE_NAME.findall(body)}
    used = {name.split(".")[-1].lower() for name in RELATION_AFTER.findall(body)}
    if not used:
        problems.append(f"{where}: reads no relation")
    for name in sorted(used - ctes - SNAPSHOT_RELATIONS):
        problems.append(
            f"{where}: reads `{name}`, which is not in the snapshot; use only {sorted(SNAPSHOT_RELATIONS)}"
        )
    return problems


def test_recipes_are_single_statements_over_snapshot_relations() -> None:
    recipes = _recipes(DOCS.read_text(encoding="utf-8"))
    assert 6 <= len(recipes) <= 8, f"{DOCS}: expected 6 to 8 recipes, found {len(recipes)}"
    titles = [r.title for r in recipes]
    assert len(set(titles)) == len(titles), f"{DOCS}: two recipes share a title: {titles}"
    problems = [problem for recipe in recipes for problem in _recipe_problems(recipe)]
    assert not problems, f"{DOCS}:\n- " + "\n- ".join(problems)


def test_recipe_checker_catches_what_it_should() -> None:
    bad = Recipe("bad", 1, ["Reads the live posts."], ["SELECT author_key FROM posts JOIN runs USING (id)"])
    assert any("`posts`" in p for p in _recipe_problems(bad))
    two = Recipe("two", 1, ["Two statements."], ["SELECT 1 FROM runs; SELECT 2 FROM runs;"])
    assert any("one statement" in p for p in _recipe_problems(two))
    fine = Recipe(
        "fine",
        1,
        ["A CTE and a string with a semicolon."],
        [
            "WITH last AS (SELECT max(run_id) AS run_id FROM runs)\n"
            "SELECT ';' FROM run_sources JOIN last USING (run_id);"
        ],
    )
    assert _recipe_problems(fine) == []


def test_schema_checker_names_relation_and_column() -> None:
    relations = {
        "runs": ("BASE TABLE", {"run_id": "BIGINT", "status": "VARCHAR"}),
        "v_new": ("VIEW", {"x": "INTEGER"}),
    }
    text = (
        "## Internal tables\n\n### `runs`\n\nTable: one row per run.\n\n"
        "| column | type | meaning |\n|---|---|---|\n"
        "| `run_id` | `INTEGER` | the run |\n| `gone` | `VARCHAR` | removed |\n\n"
        "### `old`\n\nTable: gone.\n\n| column | type | meaning |\n|---|---|---|\n| `a` | `DATE` | a |\n"
    )
    problems = "\n".join(_schema_problems(relations, text))
    assert "view `v_new` has no section" in problems
    assert "### `old` documents a relation that does not exist" in problems
    assert "`runs.status` is not documented: add the row | `status` | `VARCHAR` | ... |" in problems
    assert "`runs.gone` is documented" in problems
    assert "`runs.run_id`: documented type `INTEGER`, the schema says `BIGINT`" in problems
    assert "under '## Internal tables', expected '## Tables in the snapshot'" in problems
