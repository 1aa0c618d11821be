"""All SQL is parameterised: no statement the bot executes is built from run-time values.

Every ``.execute`` / ``.executemany`` / ``.executescript`` call in ``storage/`` and ``assistant/`` is
read with :mod:`ast`. Its SQL must be made of string literals and module-level constants only; an
f-string, ``%``, ``.format()`` or ``+`` over anything else is reported with its file, function and
the names it interpolates. The one exception, allow-listed below, is the migration runner: it runs
the repository's own migration files and sets ``PRAGMA user_version`` (which takes no parameters) to
an int parsed from a file name by a regex.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED_FOLDERS = ("storage", "assistant")
EXECUTE_METHODS = frozenset({"execute", "executemany", "executescript"})
# asyncpg's too, in storage/ only (elsewhere `fetch` is an HTTP download).
DRIVER_FETCH_METHODS = frozenset({"fetch", "fetchrow", "fetchval"})
# (file, function, the run-time names its SQL interpolates) that are known and safe.
ALLOWED = frozenset(
    {
        ("storage/sqlite/database.py", "Database.migrate", frozenset({"script", "number"})),
        ("storage/postgres/database.py", "PostgresDatabase.migrate", frozenset({"script"})),
        ("storage/postgres/database.py", "PostgresDatabase.fetch", frozenset({"sql"})),  # the callers' SQL
        # --migrate-to copies whole tables: their names come from the schema, checked by tables.quoted.
        ("storage/sqlite/tables.py", "SqliteTables.insert", frozenset({"sql"})),
        ("storage/postgres/tables.py", "PostgresTables.insert", frozenset({"sql"})),
        ("storage/postgres/tables.py", "PostgresTables._fetch", frozenset({"sql"})),
    }
)


@dataclass(frozen=True)
class SqlCall:
    """One execute call: where it is, and the run-time names its SQL is built from (none when safe)."""

    path: str
    function: str
    line: int
    dynamic: frozenset[str]


class SqlCallFinder(ast.NodeVisitor):
    """Collect the execute calls of one module, knowing its constants and the enclosing function."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.constants = module_constants(tree)
        self.scope: list[str] = []
        self.calls: list[SqlCall] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(node)

    def _scoped(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        in_storage = self.path.startswith("storage/")
        methods = EXECUTE_METHODS | (DRIVER_FETCH_METHODS if in_storage else frozenset())
        if isinstance(func, ast.Attribute) and func.attr in methods:
            sql = (
                node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "sql"), None)
            )
            if sql is not None:
                dynamic = frozenset(dynamic_parts(sql, self.constants))
                self.calls.append(SqlCall(self.path, ".".join(self.scope), node.lineno, dynamic))
        self.generic_visit(node)


def module_constants(tree: ast.Module) -> set[str]:
    """Return the module-level names bound once to a value made only of literals and earlier constants."""
    constants: set[str] = set()
    for statement in tree.body:
        target, value = None, None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign):
            target, value = statement.target, statement.value
        if isinstance(target, ast.Name) and value is not None and not dynamic_parts(value, constants):
            constants.add(target.id)
    return constants


def dynamic_parts(node: ast.expr, constants: set[str]) -> list[str]:
    """Return what in an expression is not a literal or a module constant (empty: a fixed string)."""
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Name):
        return [] if node.id in constants else [node.id]
    if isinstance(node, ast.JoinedStr):
        return [part for value in node.values for part in dynamic_parts(value, constants)]
    if isinstance(node, ast.FormattedValue):
        return dynamic_parts(node.value, constants)
    if isinstance(node, ast.BinOp):
        return dynamic_parts(node.left, constants) + dynamic_parts(node.right, constants)
    if isinstance(node, ast.Tuple | ast.List):
        return [part for element in node.elts for part in dynamic_parts(element, constants)]
    return [ast.unparse(node)]  # a call (.format(), str()), an attribute, a subscript: built at run time


def sql_calls(path: Path, root: Path = ROOT) -> list[SqlCall]:
    """Return the execute calls of one source file, named by its path under `root`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    finder = SqlCallFinder(path.relative_to(root).as_posix(), tree)
    finder.visit(tree)
    return finder.calls


def all_sql_calls() -> list[SqlCall]:
    """Return the execute calls of every scanned module."""
    files = sorted(file for folder in SCANNED_FOLDERS for file in (ROOT / folder).rglob("*.py"))
    return [call for file in files for call in sql_calls(file)]


def test_every_sql_statement_is_fixed_text_with_parameters() -> None:
    calls = all_sql_calls()
    built = [c for c in calls if c.dynamic and (c.path, c.function, c.dynamic) not in ALLOWED]
    assert built == [], "SQL built from run-time values; pass them as ? parameters instead"
    assert len(calls) >= 20, "the scan found too few execute calls to be looking in the right place"


def test_the_allow_list_is_still_needed() -> None:
    seen = {(c.path, c.function, c.dynamic) for c in all_sql_calls() if c.dynamic}
    assert seen >= ALLOWED, "an allow-listed call changed or went away: shrink ALLOWED"


def test_the_scan_catches_every_way_of_building_sql(tmp_path: Path) -> None:
    source = """
TABLE = "history"
LIMIT = 5
async def fine(db, channel_id):
    await db.execute(f"SELECT * FROM {TABLE} LIMIT {LIMIT} WHERE id = ?", (channel_id,))
    await db.execute("SELECT 1 " "FROM " + TABLE)
async def unsafe(db, name, table):
    await db.execute(f"SELECT * FROM history WHERE name = '{name}'")
    await db.execute("DELETE FROM %s" % table)
    await db.executemany("INSERT INTO {} VALUES (?)".format(table), [])
    await db.executescript("DROP TABLE " + table)
    await db.execute(sql=query_for(name))
"""
    module = tmp_path / "example.py"
    module.write_text(source, encoding="utf-8")
    calls = sql_calls(module, root=tmp_path)
    assert [(c.function, sorted(c.dynamic)) for c in calls] == [
        ("fine", []),
        ("fine", []),
        ("unsafe", ["name"]),
        ("unsafe", ["table"]),
        ("unsafe", ["'INSERT INTO {} VALUES (?)'.format(table)"]),
        ("unsafe", ["table"]),
        ("unsafe", ["query_for(name)"]),
    ]
