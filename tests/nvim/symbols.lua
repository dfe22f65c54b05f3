-- Drives repolens from a real Neovim (0.7+): start the client, open a file, ask for document and
-- workspace symbols, edit the buffer (Neovim sends the didChange itself), ask again.
-- Inputs come from the environment; the results are written as JSON for the Rust test to check.
local bin = os.getenv('REPOLENS_BIN')
local root = os.getenv('REPOLENS_ROOT')
local file = os.getenv('REPOLENS_FILE')
local out = os.getenv('REPOLENS_OUT')
local result = { errors = {} }

local function names(symbols)
  local acc = {}
  for _, s in ipairs(symbols or {}) do
    local children = names(s.children)
    table.insert(acc, { name = s.name, kind = s.kind, line = (s.selectionRange or s.location.range).start.line,
      character = (s.selectionRange or s.location.range).start.character, children = children })
  end
  return acc
end

local ok, err = pcall(function()
  local client_id = vim.lsp.start_client({
    name = 'repolens',
    cmd = { bin, 'serve' },
    root_dir = root,
    flags = { debounce_text_changes = 0 },
  })
  assert(client_id, 'start_client failed')
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(bufnr, client_id)
  local ready = vim.wait(20000, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.server_capabilities ~= nil and next(c.server_capabilities) ~= nil
  end, 20)
  assert(ready, 'the server did not initialize')
  local client = vim.lsp.get_client_by_id(client_id)
  result.offset_encoding = client.offset_encoding

  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr) }
  local responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/documentSymbol', params, 20000)
  result.document_symbols = names(responses[client_id].result)

  local ws = client.request_sync('workspace/symbol', { query = 'Circle' }, 20000, bufnr)
  result.workspace_symbols = {}
  for _, s in ipairs(ws.result or {}) do
    table.insert(result.workspace_symbols, { name = s.name, uri = s.location.uri, container = s.containerName })
  end

  -- Rename the class in the buffer: line 1 is `class Circle:`; columns are bytes here.
  vim.api.nvim_buf_set_lines(bufnr, 1, 2, true, { 'class 𝔘Ring:' })
  responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/documentSymbol', params, 20000)
  result.after_edit = names(responses[client_id].result)

  client.stop()
  vim.wait(5000, function() return client.is_stopped() end, 20)
end)
if not ok then
  table.insert(result.errors, tostring(err))
end
vim.fn.writefile({ vim.fn.json_encode(result) }, out)
vim.cmd('qa!')
