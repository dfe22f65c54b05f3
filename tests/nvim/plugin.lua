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
end)
if not ok then
  table.insert(result.errors, tostring(err))
end
vim.fn.writefile({ vim.fn.json_encode(result) }, out)
vim.cmd('qa!')
