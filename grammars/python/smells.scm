; Python code smells that have a mechanical fix, for `repolens::risk::smells`.
;
; Each pattern captures the flagged node as @smell.<rule>, named after the pattern it flags; the
; other captures are what the fix needs (the engine reads them by name). Predicates narrow the
; match; the engine checks what a query cannot say (which comparison operator sits next to
; `None`).

; `def f(x=[])`, `def f(x: dict = {})`, `lambda x=set(): x`: the default is built once, when the
; `def` runs, and shared by every call that leaves it out.
(default_parameter
  name: (identifier) @parameter
  value: [(list) (dictionary) (set) (list_comprehension) (dictionary_comprehension)
          (set_comprehension)] @smell.mutable-default-argument)
(typed_default_parameter
  name: (identifier) @parameter
  value: [(list) (dictionary) (set) (list_comprehension) (dictionary_comprehension)
          (set_comprehension)] @smell.mutable-default-argument)
([(default_parameter
    name: (identifier) @parameter
    value: (call
      function: (identifier) @constructor
      arguments: (argument_list)) @smell.mutable-default-argument)
  (typed_default_parameter
    name: (identifier) @parameter
    value: (call
      function: (identifier) @constructor
      arguments: (argument_list)) @smell.mutable-default-argument)]
  (#any-of? @constructor "list" "dict" "set" "bytearray" "defaultdict" "OrderedDict" "deque"
                         "Counter"))

; `except:` catches everything, `KeyboardInterrupt` and `SystemExit` included.
(except_clause !value) @smell.bare-except

; `x == None`, `x != None`: `is` / `is not` cannot be fooled by a custom `__eq__`.
(comparison_operator (none)) @smell.comparison-to-none

; `assert (x, "message")`: a non-empty tuple is always true, so the assert never fails.
(assert_statement . (tuple (_)) @smell.assert-on-tuple)

; A parameter named like a builtin hides the builtin for the whole function body.
([(parameters (identifier) @smell.builtin-shadowing-parameter)
  (default_parameter name: (identifier) @smell.builtin-shadowing-parameter)
  (typed_parameter . (identifier) @smell.builtin-shadowing-parameter)
  (typed_default_parameter name: (identifier) @smell.builtin-shadowing-parameter)]
  (#any-of? @smell.builtin-shadowing-parameter
    "abs" "all" "any" "ascii" "bin" "bool" "breakpoint" "bytearray" "bytes" "callable" "chr"
    "classmethod" "compile" "complex" "delattr" "dict" "dir" "divmod" "enumerate" "eval" "exec"
    "filter" "float" "format" "frozenset" "getattr" "globals" "hasattr" "hash" "help" "hex" "id"
    "input" "int" "isinstance" "issubclass" "iter" "len" "list" "locals" "map" "max" "memoryview"
    "min" "next" "object" "oct" "open" "ord" "pow" "print" "property" "range" "repr" "reversed"
    "round" "set" "setattr" "slice" "sorted" "staticmethod" "str" "sum" "super" "tuple" "type"
    "vars" "zip"))

; `except Exception: pass` swallows every error without a trace.
(except_clause
  value: (identifier) @exception
  (block . (pass_statement) @pass .)
  (#any-of? @exception "Exception" "BaseException")) @smell.except-exception-pass
; The same with the exception bound to a name that nothing reads: `except Exception as err: pass`.
(except_clause
  value: (as_pattern . (identifier) @exception)
  (block . (pass_statement) @pass .)
  (#any-of? @exception "Exception" "BaseException")) @smell.except-exception-pass
