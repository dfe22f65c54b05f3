-- The editors/nvim plugin in a real Neovim: setup{} alone starts the server for a Python buffer
-- (vim.lsp.config/enable on 0.11+, an autocommand on older versions) and :RepolensStatus works.
local bin = os.getenv('REPOLENS_BIN')
local file = os.getenv('REPOLENS_FILE')
local out = os.getenv('REPOLENS_OUT')
local plugin = os.getenv('REPOLENS_PLUGIN')
local result = { errors = {} }

local ok, err = pcall(function()
  vim.opt.runtimepath:prepend(plugin)
  local repolens = require('repolens')
  repolens.setup({ cmd = { bin, 'serve' }, init_options = { noCache = true } })
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  -- -u NONE leaves filetype detection off; set it as detection would (this fires FileType).
  vim.bo.filetype = 'python'
  local attached = vim.wait(20000, function()
    local clients = vim.lsp.get_active_clients and vim.lsp.get_active_clients() or vim.lsp.get_clients()
    for _, c in ipairs(clients) do
      if c.name == 'repolens' and vim.lsp.buf_is_attached(0, c.id) and c.initialized ~= false then
        return true
      end
    end
    return false
  end, 20)
  assert(attached, 'the plugin did not attach repolens to the buffer')
  -- The index is ready once status says so.
  local ready = vim.wait(20000, function()
    repolens.last_status = nil
    vim.cmd('RepolensStatus')
    vim.wait(2000, function() return repolens.last_status ~= nil end, 20)
    local s = repolens.last_status
    -- Fully built: the search phase (the last one) has a time.
    return s ~= nil and s.indexReady == true and type((s.phases or {}).searchMs) == 'number'
  end, 100)
  assert(ready, 'repolens/status never reported the index built')
  result.status = repolens.last_status
  local commands = vim.api.nvim_get_commands({})
  result.commands = {}
  for _, name in ipairs({ 'RepolensAsk', 'RepolensRisk', 'RepolensFix', 'RepolensStatus' }) do
    result.commands[name] = commands[name] ~= nil
  end
  result.disk_before = table.concat(vim.fn.readfile(file), '\n') .. '\n'
  local buf = vim.api.nvim_get_current_buf()

  -- :RepolensAsk: the citations fill the quickfix list.
  vim.cmd('RepolensAsk where is add_item defined')
  assert(vim.wait(30000, function() return repolens.last_citations ~= nil end, 50), 'no answer to :RepolensAsk')
  result.quickfix = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(result.quickfix, { filename = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum })
  end

  -- The smell diagnostic arrives.
  local smell
  assert(vim.wait(30000, function()
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      local lsp = (d.user_data and d.user_data.lsp) or d
      if lsp.code == 'smell/mutable-default-argument' then
        -- Neovim 0.7 keeps only part of the LSP diagnostic in user_data: rebuild it.
        smell = {
          range = lsp.range or {
            start = { line = d.lnum, character = d.col },
            ['end'] = { line = d.end_lnum, character = d.end_col },
          },
          message = d.message,
          source = d.source,
          severity = lsp.severity or d.severity,
          code = lsp.code,
          data = lsp.data,
        }
        return true
      end
    end
    return false
  end, 50), 'no smell diagnostic')
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local lsp = (d.user_data and d.user_data.lsp) or d
    table.insert(result.diagnostics, lsp.code)
  end

  -- Its "Fix with tested patch…" code action: the server tests the fixes with pytest and
  -- applies the winner to the buffer through workspace/applyEdit.
  local client = vim.lsp.get_active_clients and vim.lsp.get_active_clients({ name = 'repolens' })[1]
    or vim.lsp.get_clients({ name = 'repolens' })[1]
  local actions
  client.request('textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = smell.range,
    context = { diagnostics = { smell } },
  }, function(err, res) actions = res or { error = err } end, buf)
  assert(vim.wait(20000, function() return actions ~= nil end, 20), 'no code actions')
  local fix
  for _, action in ipairs(actions) do
    if action.title == 'Fix with tested patch…' then fix = action end
  end
  assert(fix, 'no tested-fix code action: ' .. vim.inspect(actions))
  local done
  client.request('workspace/executeCommand', fix.command, function(err, res) done = res or { error = err } end, buf)
  assert(vim.wait(60000, function() return done ~= nil end, 50), 'the fix never finished')
  result.fix = done
  vim.wait(5000, function()
    return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n'):find('is None') ~= nil
  end, 20)
  result.buffer_after_fix = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end)
if not ok then
  table.insert(result.errors, tostring(err))
end
vim.fn.writefile({ vim.fn.json_encode(result) }, out)
vim.cmd('qa!')
