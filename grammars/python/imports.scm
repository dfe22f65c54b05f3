; Python imports, for module resolution in the symbol graph.
;
; Each match is one binding: @import.module (`import a.b`), or @import.from plus @import.name
; (`from a import b`) or @import.wildcard (`from a import *`); @import.alias renames the binding.
; The whole statement is captured as @import.

(import_statement
  name: (dotted_name) @import.module) @import

(import_statement
  name: (aliased_import
    name: (dotted_name) @import.module
    alias: (identifier) @import.alias)) @import

(import_from_statement
  module_name: (_) @import.from
  name: (dotted_name) @import.name) @import

(import_from_statement
  module_name: (_) @import.from
  name: (aliased_import
    name: (dotted_name) @import.name
    alias: (identifier) @import.alias)) @import

(import_from_statement
  module_name: (_) @import.from
  (wildcard_import) @import.wildcard) @import
