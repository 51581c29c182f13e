"""Checks the hand-written Swift (ios/) and Android Kotlin (android/) glue that cannot be
compiled on these Linux machines, against the freshly generated bindings.

1. Every file parses with tree-sitter (tree-sitter-swift, tree-sitter-kotlin): a syntax error
   fails with its file, line and column.
2. Every use of the generated API the glue makes that can be resolved without a compiler is
   checked: `x.member` where `x` is a parameter, property or local whose type is a generated
   type (declared, or the return type of a generated method it was assigned from), and
   `Type.member` for a generated type; Kotlin imports of `dev.pacenote.*`. A member that the
   generated type does not have fails with its file and line.

Before checking, the checker checks itself: a snippet of each language with one wrong use has
to be reported, or the run fails (a checker that can no longer see a wrong use would pass
everything).

Usage: glue_check.py GENERATED_SWIFT GENERATED_KOTLIN_DIR ROOT
Must not: guess. A receiver whose type it cannot tell is skipped, never reported.
"""

import re
import sys
from pathlib import Path

import tree_sitter as ts
import tree_sitter_kotlin as tsk
import tree_sitter_swift as tsw

SWIFT = ts.Language(tsw.language())
KOTLIN = ts.Language(tsk.language())

# The generated Swift file, committed under ios/ (checked for freshness by `xtask swift`).
GENERATED_SWIFT_NAME = "Pacenote.swift"


def parse(lang, source):
    return ts.Parser(lang).parse(source)


def text(node):
    return node.text.decode("utf-8", "replace")


def walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def syntax_errors(tree):
    """(line, column, what) of every ERROR or MISSING node."""
    out = []
    for n in walk(tree.root_node):
        if n.type == "ERROR" or n.is_missing:
            line, col = n.start_point
            what = "missing " + n.type if n.is_missing else "cannot parse " + repr(text(n)[:40])
            out.append((line + 1, col + 1, what))
    return out


def ident_types(lang):
    return {"simple_identifier", "type_identifier"} if lang is SWIFT else {"identifier"}


def first(node, kinds):
    for c in node.children:
        if c.type in kinds:
            return c
    return None


def type_name(node):
    """The base name of a type node (`Pacenote?`, `[Utterance]` → None for collections)."""
    if node is None:
        return None
    if node.type in ("user_type", "nullable_type", "optional_type", "type"):
        for c in node.children:
            name = type_name(c) if c.is_named else None
            if name:
                return name
        return None
    if node.type in ("type_identifier", "identifier"):
        return text(node)
    return None


class Api:
    """Generated types: name -> {member name -> its type name (or None)}."""

    def __init__(self):
        self.types = {}
        self.functions = set()

    def add(self, type_, member=None, member_type=None):
        members = self.types.setdefault(type_, {})
        if member is not None and (member not in members or members[member] is None):
            members[member] = member_type

    def has(self, type_, member):
        return member in self.types.get(type_, {})

    def member_type(self, type_, member):
        return self.types.get(type_, {}).get(member)


def declared_name(node, lang):
    """The name a class-like declaration declares (for a Swift extension, the extended type)."""
    for c in node.children:
        if c.type in ("type_identifier", "identifier", "simple_identifier"):
            return text(c)
        if c.type == "user_type":
            return type_name(c)
    return None


TYPE_NODES = {"user_type", "nullable_type", "optional_type"}


def declared_property(node, ids):
    """(name node, declared type name or None) of a property declaration."""
    decl = first(node, {"variable_declaration", "pattern"}) or node
    ty = None
    for g in list(decl.children) + list(node.children):
        if g.type == "type_annotation":
            ty = type_name(first(g, TYPE_NODES | {"type"}))
        elif g.type in TYPE_NODES:
            ty = type_name(g)
    return first(decl, ids), ty


def swift_members(body):
    """(name, type) of the members a generated Swift type's body declares."""
    ids = ident_types(SWIFT)
    for c in body.children:
        if c.type in ("function_declaration", "protocol_function_declaration"):
            name = first(c, ids)
            ret = None
            seen_name = False
            for g in c.children:
                if g == name:
                    seen_name = True
                elif seen_name and g.type in ("user_type", "nullable_type", "optional_type", "type"):
                    ret = type_name(g)
            if name is not None:
                yield text(name), ret
        elif c.type in ("property_declaration", "protocol_property_declaration"):
            name, ty = declared_property(c, ids)
            if name is not None:
                yield text(name), ty
        elif c.type == "enum_entry":
            for g in c.children:
                if g.type in ids:
                    yield text(g), None
        elif c.type == "class_declaration":
            name = declared_name(c, SWIFT)
            if name:
                yield name, name  # a nested type


def extract_swift_api(source):
    """The generated Swift's declared types (not extensions of the platform's) and members."""
    # Backticked names and `@_documentation(...)` attributes are beyond this grammar.
    source = re.sub(rb"@_documentation\([^)]*\)", b"", source.replace(b"`", b""))
    api = Api()
    tree = parse(SWIFT, source)
    declared = set()
    for n in walk(tree.root_node):
        if n.type in ("class_declaration", "protocol_declaration"):
            name = declared_name(n, SWIFT)
            if not name:
                continue
            if not any(c.type == "extension" for c in n.children):
                declared.add(name)
            api.add(name)
            body = first(n, {"class_body", "enum_class_body", "protocol_body"})
            for member, ty in swift_members(body) if body is not None else []:
                api.add(name, member, ty)
        elif n.type == "function_declaration" and n.parent is not None and n.parent.type == "source_file":
            name = first(n, ident_types(SWIFT))
            if name is not None:
                api.functions.add(text(name))
    for name in list(api.types):
        if name not in declared:
            del api.types[name]
    return api


KOTLIN_TOP = re.compile(
    r"^(?:public |internal |private )?(?:open |data |enum |sealed |abstract |inline |value )*"
    r"(class|interface|object|fun|val|var|typealias) `?(\w+)`?"
)
KOTLIN_NESTED_TYPE = re.compile(r"^\s+(?:data |open |sealed )*(?:class|object) `?(\w+)`?")
KOTLIN_FUN = re.compile(r"\bfun (?:<[^>]*> )?`?(\w+)`?\((.*)")
KOTLIN_PROPERTY = re.compile(r"\b(?:val|var) `?(\w+)`?\s*:\s*([\w.]+)")
KOTLIN_ENUM_ENTRY = re.compile(r"^\s+([A-Z][A-Z0-9_]*)\s*[,;]?\s*$")
KOTLIN_RETURN = re.compile(r"\)\s*:\s*([\w.]+)")


def extract_kotlin_api(sources):
    """The generated Kotlin's types and members, read line by line: uniffi's template is
    regular, and tree-sitter-kotlin loses its way in parts of the generated file."""
    api = Api()
    for source in sources:
        current = None
        for line in source.decode("utf-8", "replace").splitlines():
            top = KOTLIN_TOP.match(line)
            if top:
                kind, name = top.groups()
                if kind in ("class", "interface", "object"):
                    current = name
                    api.add(name)
                    # Primary-constructor properties on the same line.
                    for prop, ty in KOTLIN_PROPERTY.findall(line):
                        api.add(name, prop, ty.split(".")[-1])
                else:
                    current = None
                    if kind == "fun":
                        api.functions.add(name)
                continue
            if current is None:
                continue
            nested = KOTLIN_NESTED_TYPE.match(line)
            if nested:
                api.add(current, nested.group(1), nested.group(1))
                api.add(nested.group(1))
                for prop, ty in KOTLIN_PROPERTY.findall(line):
                    api.add(nested.group(1), prop, ty.split(".")[-1])
            fun = KOTLIN_FUN.search(line)
            if fun:
                ret = KOTLIN_RETURN.search(line)
                api.add(current, fun.group(1), ret.group(1).split(".")[-1] if ret else None)
                continue
            for prop, ty in KOTLIN_PROPERTY.findall(line):
                api.add(current, prop, ty.split(".")[-1])
            entry = KOTLIN_ENUM_ENTRY.match(line)
            if entry:
                api.add(current, entry.group(1))
    return api


SCOPES = {"function_declaration", "lambda_literal", "class_declaration", "object_declaration",
          "protocol_declaration", "for_statement", "source_file", "init_declaration"}


def scope_of(node):
    n = node.parent
    while n is not None and n.type not in SCOPES:
        n = n.parent
    return n


class Scopes:
    """Names bound in each scope (a function, a closure, a class, a loop, the file), with the
    generated type they have when it is known (None: bound, type not known)."""

    def __init__(self):
        self.bound = {}

    def bind(self, node, name, ty):
        self.bound.setdefault(scope_of(node).id, {}).setdefault(name, ty)

    def lookup(self, node, name):
        n = scope_of(node)
        while n is not None:
            names = self.bound.get(n.id)
            if names is not None and name in names:
                return names[name]
            n = scope_of(n)
        return None


def receiver_types(tree, lang, api):
    """A function giving the generated type of a receiver expression, from parameters,
    properties and locals (declared, or assigned from a generated method or constructor),
    bound in the scopes the file nests; every other binding hides an outer one."""
    ids = ident_types(lang)
    scopes = Scopes()
    # The file's own classes: their properties of a generated type (companions' included).
    own = {}
    for n in walk(tree.root_node):
        if n.type == "property_declaration":
            owner = n.parent
            while owner is not None and owner.type not in ("class_declaration", "object_declaration"):
                if owner.type in ("function_declaration", "lambda_literal"):
                    owner = None
                    break
                owner = owner.parent
            if owner is None:
                continue
            name, ty = declared_property(n, ids)
            if name is not None and ty in api.types:
                own.setdefault(declared_name(owner, lang), {})[text(name)] = ty

    def expression_type(e):
        while e is not None and (
            e.type in ("try_expression", "await_expression", "parenthesized_expression", "elvis_expression",
                       "postfix_expression")
            or (e.type == "binary_expression" and any(c.type == "?:" for c in e.children))
        ):
            e = next((c for c in e.children if c.is_named and c.type not in ("try_operator",)), None)
        if e is None:
            return None
        if e.type == "call_expression":
            callee = e.children[0]
            if callee.type in ids and text(callee) in api.types:
                return text(callee)  # a constructor
            if callee.type == "navigation_expression":
                return member_type(callee)
        if e.type == "navigation_expression":
            return member_type(e)
        return None

    def member_type(e):
        recv, member = navigation_parts(e, lang)
        if recv is not None and recv.type in ids and member is not None and text(recv) in own:
            return own[text(recv)].get(member)  # a property of a class of this file
        ty = type_of(recv)
        return api.member_type(ty, member) if ty is not None and member is not None else None

    def type_of(node):
        if node is None:
            return None
        if node.type in ids:
            name = text(node)
            ty = scopes.lookup(node, name)
            if ty is not None:
                return ty
            if name in api.types and not any(name in b for b in scopes.bound.values()):
                return name  # a type used as a receiver (Type.member)
            return None
        return expression_type(node)

    for n in walk(tree.root_node):
        if n.type in ("parameter", "class_parameter", "lambda_parameter"):
            names = [c for c in n.children if c.type in ids]
            ty = type_name(first(n, {"user_type", "nullable_type", "optional_type"}))
            if names:
                scopes.bind(n, text(names[-1]), ty if ty in api.types else None)
        elif n.type == "property_declaration":
            name, ty = declared_property(n, ids)
            if name is None:
                continue
            if ty is None:
                value = n.children[-1]
                ty = expression_type(value) if value.is_named else None
            scopes.bind(n, text(name), ty if ty in api.types else None)
        elif n.type in ("guard_statement", "if_statement", "for_statement", "variable_declaration", "pattern"):
            # `guard let x = …`, `if let x = …`, loop variables: bound, type not read.
            for c in n.children:
                if c.type in ids and n.type != "if_statement" or (
                        n.type in ("guard_statement", "if_statement") and c.type in ids
                        and c.prev_sibling is not None and c.prev_sibling.type == "value_binding_pattern"):
                    scopes.bind(n, text(c), None)
    return type_of


def navigation_parts(node, lang):
    """(receiver node, member name) of `receiver.member`."""
    named = [c for c in node.children if c.is_named]
    if len(named) < 2:
        return None, None
    receiver, suffix = named[0], named[-1]
    if suffix.type == "navigation_suffix":
        suffix = next((c for c in suffix.children if c.type in ident_types(lang)), None)
    if suffix is None or suffix.type not in ident_types(lang):
        return receiver, None
    return receiver, text(suffix)


KOTLIN_EXTENSION_FUN = re.compile(rb"^\s*(?:(?:public|internal|private) )?fun (?:<[^>]*> )?(\w+)\.`?(\w+)`?\(", re.M)


def add_glue_extensions(tree, source, lang, api):
    """The members the glue itself adds to generated types (a Swift `extension Pacenote`, a
    Kotlin `fun RunOptions.voiced()`): uses of them elsewhere in the glue are not errors."""
    if lang is SWIFT:
        for n in walk(tree.root_node):
            if n.type == "class_declaration" and any(c.type == "extension" for c in n.children):
                name = declared_name(n, SWIFT)
                body = first(n, {"class_body"})
                if name in api.types and body is not None:
                    for member, ty in swift_members(body):
                        api.add(name, member, ty)
    else:
        for m in KOTLIN_EXTENSION_FUN.finditer(source):
            name, member = m.group(1).decode(), m.group(2).decode()
            if name in api.types:
                api.add(name, member, None)


def check_uses(tree, lang, api):
    """(line, message) for every resolvable use of the generated API that does not exist, and
    how many uses were checked."""
    problems, checked = [], 0
    type_of = receiver_types(tree, lang, api)
    for n in walk(tree.root_node):
        if n.type == "navigation_expression":
            receiver, member = navigation_parts(n, lang)
            ty = type_of(receiver)
            if ty not in api.types or member is None:
                continue  # not a generated type (a platform one, or not known)
            if lang is SWIFT and member == "self":
                continue  # the metatype (`RunState.self`), not a member
            checked += 1
            if not api.has(ty, member):
                problems.append((n.start_point[0] + 1, f"{ty} has no member {member!r}"))
        elif n.type == "import" and lang is KOTLIN:
            path = text(n).split()[-1]
            if path.startswith("dev.pacenote.") and path.count(".") == 2 and not path.endswith("*"):
                name = path.rsplit(".", 1)[1]
                checked += 1
                if name not in api.types and name not in api.functions:
                    problems.append((n.start_point[0] + 1, f"the bindings export no {name!r}"))
    return problems, checked


SELF_TEST = {
    "swift": """
func sync(_ pacenote: Pacenote) async {
    let report = try? await pacenote.syncNow()
    _ = report?.noSuchField
}
""",
    "kotlin": """
import dev.pacenote.Pacenote
import dev.pacenote.NoSuchType
fun sync(pacenote: Pacenote) { val report = pacenote.syncNow(); report.noSuchField }
""",
}


def main():
    generated_swift, generated_kotlin, root = map(Path, sys.argv[1:4])
    swift_api = extract_swift_api(generated_swift.read_bytes())
    kotlin_api = extract_kotlin_api([p.read_bytes() for p in sorted(generated_kotlin.rglob("*.kt"))])
    failures = []
    for lang, api, snippet, want in (
        (SWIFT, swift_api, SELF_TEST["swift"], 1),
        (KOTLIN, kotlin_api, SELF_TEST["kotlin"], 2),
    ):
        problems, _ = check_uses(parse(lang, snippet.encode()), lang, api)
        if len(problems) != want:
            failures.append(f"self-test: {want} wrong uses planted, {len(problems)} found: {problems}")
    files = [(p, SWIFT, swift_api) for p in sorted((root / "ios").rglob("*.swift")) if p.name != GENERATED_SWIFT_NAME]
    files += [(p, KOTLIN, kotlin_api) for p in sorted((root / "android").rglob("*.kt"))]
    trees = [(path, lang, api, path.read_bytes()) for path, lang, api in files]
    trees = [(path, lang, api, source, parse(lang, source)) for path, lang, api, source in trees]
    for _, lang, api, source, tree in trees:
        add_glue_extensions(tree, source, lang, api)
    total = 0
    for path, lang, api, _, tree in trees:
        rel = path.relative_to(root)
        for line, col, what in syntax_errors(tree):
            failures.append(f"{rel}:{line}:{col}: {what}")
        problems, checked = check_uses(tree, lang, api)
        total += checked
        failures.extend(f"{rel}:{line}: {message}" for line, message in problems)
    print(f"    glue: {len(files)} files parsed, {total} uses of the generated API checked "
          f"({len(swift_api.types)} Swift and {len(kotlin_api.types)} Kotlin types)")
    if failures:
        for f in failures:
            print(f"    {f}")
        sys.exit(1)


if __name__ == "__main__":
    main()
