; Python tags, in tree-sitter's tags vocabulary.
;
; Captures: @definition.<kind> / @reference.<kind> on the tagged node, @name on its name, @doc on
; its docstring. When several patterns tag the same name, the earliest wins, so specific patterns
; (documented definitions, constants) come before general ones. Methods are not tagged apart: a
; function whose enclosing definition is a class is a method, which the summary derives from the
; tree's nesting (two class-body patterns for it were ~10% of the whole query's cost on Django).

; ---------------------------------------------------------------------------------------------
; Classes and functions (methods and nested functions included).

((class_definition
  name: (identifier) @name
  body: (block . (expression_statement . (string) @doc .))) @definition.class
 (#strip! @doc "^[rRuUbBfF]*(\"\"\"|'''|\"|')|(\"\"\"|'''|\"|')$"))

(class_definition name: (identifier) @name) @definition.class

((function_definition
  name: (identifier) @name
  body: (block . (expression_statement . (string) @doc .))) @definition.function
 (#strip! @doc "^[rRuUbBfF]*(\"\"\"|'''|\"|')|(\"\"\"|'''|\"|')$"))

(function_definition name: (identifier) @name) @definition.function

; ---------------------------------------------------------------------------------------------
; Module-level assignments: UPPER_CASE names are constants, the rest variables.

((module
  (expression_statement
    (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.constant))
 (#match? @name "^_*[A-Z][A-Z0-9_]*$"))

(module
  (expression_statement
    (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable))

; Class attributes (model fields, class constants, `__slots__`).
(class_definition
  body: (block
    (expression_statement
      (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.field)))

; ---------------------------------------------------------------------------------------------
; References.

; Base classes in a class header (keyword arguments such as `metaclass=` are not bases).
(class_definition
  superclasses: (argument_list
    [(identifier) @name
     (attribute attribute: (identifier) @name)] @reference.class))

; Decorators, before calls: `@app.route("/")` is a decorator first.
(decorator
  [(identifier) @name
   (attribute attribute: (identifier) @name)
   (call function: [(identifier) @name (attribute attribute: (identifier) @name)])]) @reference.decorator

; Imports: the module named (`import a.b`, `from .a import x`) and each name imported from it.
(import_statement
  name: [(dotted_name) @name
         (aliased_import name: (dotted_name) @name)] @reference.module)

(import_from_statement
  module_name: [(dotted_name) (relative_import)] @name @reference.module)

(import_from_statement
  name: [(dotted_name) @name
         (aliased_import name: (dotted_name) @name)] @reference.import)

; Calls: `f(...)` and `obj.f(...)`.
(call function: (identifier) @name) @reference.call
(call function: (attribute attribute: (identifier) @name)) @reference.call
