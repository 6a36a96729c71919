/* libFuzzer target: cxcloud's decoders against plain lua-cjson on the same input.
   - every input lua-cjson rejects, cxcloud rejects;
   - an input lua-cjson accepts and cxcloud rejects must hold a number that breaks the JSON
     grammar (cxcloud is stricter there: "1.", "1.e5");
   - an input both accept decodes to the same value, apart from what cxcloud changes on
     purpose: integral floats are integers, null object fields are absent, big integers and
     identifier numbers ("a" and "id" here) are exact integers or strings of their text;
   - a value comes with its decoded-size estimate, a non-negative integer.
   A difference raises in the Lua check below and aborts with its message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int luaopen_cxcloud_core(lua_State *L);

static const char CHECK[] =
    "local core, cjson = ...\n"
    "local ref = cjson.new()\n"
    "ref.decode_invalid_numbers(false)\n"
    "ref.decode_max_depth(32)\n"
    "local null = cjson.null\n"
    "local decoders = { core.decode, core.decoder { 'a', 'id' } }\n"
    "local function num_equal(a, b)\n"
    "  if type(a) == 'string' then a = tonumber(a) end\n"
    "  if math.type(a) == 'integer' and math.type(b) == 'float' then a = a + 0.0 end\n"
    "  return a == b or (a ~= a and b ~= b)\n"
    "end\n"
    "local function same(a, b, path)\n"
    "  if type(b) == 'number' then\n"
    "    if not num_equal(a, b) then error(path .. ': ' .. tostring(a) .. ' ~= ' .. tostring(b)) end\n"
    "    if math.type(a) == 'float' and a == math.floor(a) and math.abs(a) <= 2^53 then\n"
    "      error(path .. ': integral float ' .. tostring(a))\n"
    "    end\n"
    "  elseif type(b) == 'table' then\n"
    "    if type(a) ~= 'table' then error(path .. ': ' .. type(a) .. ' for a table') end\n"
    "    for k, v in pairs(b) do\n"
    "      local p = path .. '.' .. tostring(k)\n"
    "      if v == null and type(k) == 'string' then\n"
    "        if a[k] ~= nil then error(p .. ': null field present') end\n"
    "      else\n"
    "        same(a[k], v, p)\n"
    "      end\n"
    "    end\n"
    "    for k in pairs(a) do\n"
    "      if b[k] == nil then error(path .. '.' .. tostring(k) .. ': extra key') end\n"
    "    end\n"
    "  elseif a ~= b then\n"
    "    error(path .. ': ' .. tostring(a) .. ' ~= ' .. tostring(b))\n"
    "  end\n"
    "end\n"
    "return function(text)\n"
    "  local ok, want = pcall(ref.decode, text)\n"
    "  for i, decode in ipairs(decoders) do\n"
    "    local got, second = decode(text, 32)\n"
    "    local err = type(second) == 'string' and second or nil\n"
    "    if not ok then\n"
    "      if got ~= nil or err == nil then error('decoder ' .. i .. ' accepted what cjson rejects') end\n"
    "    elseif err then\n"
    "      if not err:find('^invalid number') then\n"
    "        error('decoder ' .. i .. ' rejected what cjson accepts: ' .. err)\n"
    "      end\n"
    "    elseif math.type(second) ~= 'integer' or second < 0 then\n"
    "      error('decoder ' .. i .. ': estimate ' .. tostring(second))\n"
    "    elseif want == null then\n"
    "      if got ~= nil then error('top-level null gave ' .. tostring(got)) end\n"
    "    else\n"
    "      same(got, want, 'decoder ' .. i .. ' $')\n"
    "    end\n"
    "  end\n"
    "end\n";

static lua_State *state;
static int check_ref = LUA_NOREF;

static void setup(void)
{
    state = luaL_newstate();
    luaL_openlibs(state);
    if (luaL_loadstring(state, CHECK) != LUA_OK)
        goto fail;
    luaL_requiref(state, "cxcloud.core", luaopen_cxcloud_core, 0);
    lua_getglobal(state, "require");
    lua_pushliteral(state, "cjson");
    if (lua_pcall(state, 1, 1, 0) != LUA_OK || lua_pcall(state, 2, 1, 0) != LUA_OK)
        goto fail;
    check_ref = luaL_ref(state, LUA_REGISTRYINDEX);
    return;
fail:
    fprintf(stderr, "fuzz_json_diff setup: %s\n", lua_tostring(state, -1));
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!state)
        setup();
    lua_rawgeti(state, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(state, (const char *)data, size);
    if (lua_pcall(state, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_json_diff: %s\n", lua_tostring(state, -1));
        abort();
    }
    lua_gc(state, LUA_GCSTEP, 0);
    return 0;
}
