-- repolens for Neovim: starts the language server for Python buffers and adds
-- :RepolensAsk {question}, :RepolensRisk, :RepolensFix and :RepolensStatus.
--
-- Works on Neovim 0.7+: on 0.11+ it registers the server with vim.lsp.config/vim.lsp.enable,
-- on older versions it starts a client per root from a FileType autocommand.
--
--   require('repolens').setup{}                      -- defaults: `repolens serve`, python files
--   require('repolens').setup{ cmd = { '/path/to/repolens', 'serve' },
--                              init_options = { llm = { baseUrl = 'http://localhost:8080/v1' } } }
local M = {}

local defaults = {
  cmd = { 'repolens', 'serve' },
  filetypes = { 'python' },
  root_markers = { '.git', 'pyproject.toml', 'setup.py', 'setup.cfg', '.repolens.toml' },
  init_options = vim.empty_dict and vim.empty_dict() or {},
}

M.config = vim.deepcopy(defaults)

local has_011 = vim.fn.has('nvim-0.11') == 1

local function notify(msg, level)
  vim.notify('repolens: ' .. msg, level or vim.log.levels.INFO)
end

--- The repolens client attached to `bufnr` (or any running one).
local function client_for(bufnr)
  local clients = vim.lsp.get_active_clients and vim.lsp.get_active_clients() or vim.lsp.get_clients()
  local fallback
  for _, client in ipairs(clients) do
    if client.name == 'repolens' then
      if bufnr and vim.lsp.buf_is_attached(bufnr, client.id) then
        return client
      end
      fallback = fallback or client
    end
  end
  return fallback
end

local function find_root(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  for _, marker in ipairs(M.config.root_markers) do
    -- A directory marker (`.git`) found at /repo/.git: ':p' gives '/repo/.git/', so the root
    -- is two heads up; a file marker's root is its directory.
    local found = vim.fn.finddir(marker, dir .. ';')
    if found ~= '' then
      return vim.fn.fnamemodify(found, ':p:h:h')
    end
    found = vim.fn.findfile(marker, dir .. ';')
    if found ~= '' then
      return vim.fn.fnamemodify(found, ':p:h')
    end
  end
  return dir
end

-- Neovim before 0.11: one client per root, started from a FileType autocommand.
local legacy_clients = {}

local function start_legacy(bufnr)
  local root = find_root(bufnr)
  local id = legacy_clients[root]
  if not id or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client({
      name = 'repolens',
      cmd = M.config.cmd,
      root_dir = root,
      workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
      init_options = M.config.init_options,
      flags = { debounce_text_changes = 100 },
    })
    legacy_clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

local function show_markdown(title, text)
  local lines = vim.split(text, '\n', { plain = true })
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, 'filetype', 'markdown')
  vim.api.nvim_buf_set_option(buf, 'bufhidden', 'wipe')
  local width = math.min(math.max(40, math.floor(vim.o.columns * 0.7)), vim.o.columns - 4)
  local height = math.min(#lines + 1, math.floor(vim.o.lines * 0.6))
  local ok, win = pcall(vim.api.nvim_open_win, buf, true, {
    relative = 'editor',
    width = width,
    height = math.max(height, 3),
    row = math.floor((vim.o.lines - height) / 2),
    col = math.floor((vim.o.columns - width) / 2),
    style = 'minimal',
    border = 'rounded',
  })
  if ok then
    vim.api.nvim_buf_set_keymap(buf, 'n', 'q', '<cmd>close<cr>', { noremap = true, silent = true })
  else
    vim.cmd('split')
    vim.api.nvim_win_set_buf(0, buf)
  end
  M.last_answer = { title = title, buf = buf, lines = lines }
  return buf
end

--- Ask a question about the repository; the answer opens in a floating window and its
--- citations fill the quickfix list.
function M.ask(question)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_for(bufnr)
  if not client then
    return notify('no repolens server is running for this buffer', vim.log.levels.WARN)
  end
  local params = { question = question }
  if vim.api.nvim_buf_get_name(bufnr) ~= '' then
    local pos = vim.lsp.util.make_position_params()
    params.textDocument = pos.textDocument
    params.position = pos.position
  end
  client.request('repolens/ask', params, function(err, result)
    if err then
      return notify('ask failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    local items = {}
    for i, c in ipairs(result.citations or {}) do
      table.insert(items, {
        filename = vim.uri_to_fname(c.uri),
        lnum = c.range.start.line + 1,
        col = c.range.start.character + 1,
        text = string.format('[%d] %s', i, c.symbol or (c.snippet or ''):gsub('\n.*', '')),
      })
    end
    vim.fn.setqflist({}, ' ', { title = 'repolens: ' .. question, items = items })
    M.last_citations = items
    show_markdown(question, result.answer or '')
  end, bufnr)
end

--- Risk and smell diagnostics from repolens, in the quickfix list.
function M.risk()
  local items = {}
  for _, d in ipairs(vim.diagnostic.get(nil)) do
    if d.source == 'repolens' then
      table.insert(items, {
        bufnr = d.bufnr,
        lnum = d.lnum + 1,
        col = d.col + 1,
        text = (d.code and ('[' .. d.code .. '] ') or '') .. d.message,
        type = 'I',
      })
    end
  end
  vim.fn.setqflist({}, ' ', { title = 'repolens: risks', items = items })
  if #items == 0 then
    notify('no risk or smell diagnostics')
  end
  return items
end

--- Offers repolens' code actions at the cursor (tested fixes, explanations).
function M.fix()
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = vim.diagnostic.get(0, { lnum = vim.api.nvim_win_get_cursor(0)[1] - 1 }) }
  vim.lsp.buf.code_action({ diagnostics = params.context.diagnostics })
end

--- What the server has indexed.
function M.status()
  local client = client_for(vim.api.nvim_get_current_buf())
  if not client then
    return notify('no repolens server is running', vim.log.levels.WARN)
  end
  client.request('repolens/status', nil, function(err, result)
    if err then
      return notify('status failed: ' .. err.message, vim.log.levels.ERROR)
    end
    M.last_status = result
    notify(string.format('%d files, %d symbols; graph %d nodes; index ready: %s', result.files or 0,
      result.symbols or 0, (result.graph or {}).nodes or 0, tostring(result.indexReady)))
  end)
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  if has_011 then
    vim.lsp.config('repolens', {
      cmd = M.config.cmd,
      filetypes = M.config.filetypes,
      root_markers = M.config.root_markers,
      init_options = M.config.init_options,
    })
    vim.lsp.enable('repolens')
  else
    local group = vim.api.nvim_create_augroup('repolens', { clear = true })
    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = M.config.filetypes,
      callback = function(args)
        start_legacy(args.buf)
      end,
    })
  end
  vim.api.nvim_create_user_command('RepolensAsk', function(c)
    M.ask(c.args)
  end, { nargs = '+', desc = 'Ask repolens a question about this repository' })
  vim.api.nvim_create_user_command('RepolensRisk', M.risk, { desc = 'repolens risk diagnostics in the quickfix list' })
  vim.api.nvim_create_user_command('RepolensFix', M.fix, { desc = 'repolens code actions at the cursor' })
  vim.api.nvim_create_user_command('RepolensStatus', M.status, { desc = 'What repolens has indexed' })
end

return M
