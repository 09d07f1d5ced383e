/**
 * Lua scripts of the Redis cluster state. Each runs atomically, so "first subscriber", "last
 * member connection" and "who reaps a dead node" are decided exactly once cluster-wide.
 *
 * All keys of one app share the hash tag {prefix:appId} (one Redis Cluster slot per app, so a
 * script may touch any of them). KEYS[1] is the app's key prefix `prefix:{prefix:appId}:`:
 *   nodes        ZSET  node token → heartbeat expiry (ms, Redis clock)
 *   rev          STR   revision counter, incremented by every change that is broadcast
 *   subs         HASH  channel → subscribers cluster-wide (the occupied-channel list)
 *   ns:<node>    HASH  channel → that node's subscribers
 *   pm:<channel> HASH  user id → member connections cluster-wide
 *   pi:<channel> HASH  user id → JSON [raw user id, user_info] (the roster)
 *   np:<node>    HASH  "<channel>\n<user id>" → that node's member connections
 *   users        HASH  user id → signed-in connections cluster-wide
 *   nu:<node>    HASH  user id → that node's signed-in connections
 *   cache:<ch>   STR   JSON [event, data] with a TTL (cache channels)
 * Per-node hashes exist so a dead node's contributions can be subtracted exactly.
 */

const NOW = `local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

export const REGISTER = `${NOW}
redis.call('ZADD', KEYS[1] .. 'nodes', now + tonumber(ARGV[2]), ARGV[1])
return 1`;

/** 1 = still registered (expiry extended), 0 = reaped meanwhile. */
export const HEARTBEAT = `${NOW}
if not redis.call('ZSCORE', KEYS[1] .. 'nodes', ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1] .. 'nodes', now + tonumber(ARGV[2]), ARGV[1])
return 1`;

/** ARGV: node, channel, user id ('' = not presence), member JSON, max members. */
export const JOIN = `
local b, node, ch, uid = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if not redis.call('ZSCORE', b .. 'nodes', node) then return {-1} end
local pm = b .. 'pm:' .. ch
if uid ~= '' and redis.call('HEXISTS', pm, uid) == 0 and redis.call('HLEN', pm) >= tonumber(ARGV[5]) then return {-2} end
local total = redis.call('HINCRBY', b .. 'subs', ch, 1)
redis.call('HINCRBY', b .. 'ns:' .. node, ch, 1)
local rev = redis.call('INCR', b .. 'rev')
local added, roster = 0, false
if uid ~= '' then
  redis.call('HINCRBY', b .. 'np:' .. node, ch .. '\\n' .. uid, 1)
  if redis.call('HINCRBY', pm, uid, 1) == 1 then
    redis.call('HSET', b .. 'pi:' .. ch, uid, ARGV[4])
    added = 1
  end
  roster = redis.call('HGETALL', b .. 'pi:' .. ch)
end
return {total, rev, added, roster}`;

/** ARGV: node, channel, user id ('' = not presence). Returns {total, rev, removed member JSON or false}. */
export const LEAVE = `
local b, node, ch, uid = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if not redis.call('ZSCORE', b .. 'nodes', node) then return {-1} end
local ns = b .. 'ns:' .. node
local mine = tonumber(redis.call('HGET', ns, ch) or '0')
if mine <= 0 then return {-3} end
if mine == 1 then redis.call('HDEL', ns, ch) else redis.call('HINCRBY', ns, ch, -1) end
local total = redis.call('HINCRBY', b .. 'subs', ch, -1)
if total <= 0 then redis.call('HDEL', b .. 'subs', ch); total = 0 end
local rev = redis.call('INCR', b .. 'rev')
local removed = false
if uid ~= '' then
  local np, k = b .. 'np:' .. node, ch .. '\\n' .. uid
  local n = tonumber(redis.call('HGET', np, k) or '0')
  if n > 0 then
    if n == 1 then redis.call('HDEL', np, k) else redis.call('HINCRBY', np, k, -1) end
    local pm = b .. 'pm:' .. ch
    if redis.call('HINCRBY', pm, uid, -1) <= 0 then
      redis.call('HDEL', pm, uid)
      removed = redis.call('HGET', b .. 'pi:' .. ch, uid) or '[]'
      redis.call('HDEL', b .. 'pi:' .. ch, uid)
    end
  end
end
return {total, rev, removed}`;

/** ARGV: node, user id, watched ids… Returns {came online 0/1, rev, {1/0 per watched id}}. */
export const ONLINE = `
local b, node, uid = KEYS[1], ARGV[1], ARGV[2]
if not redis.call('ZSCORE', b .. 'nodes', node) then return {-1} end
redis.call('HINCRBY', b .. 'nu:' .. node, uid, 1)
local first = redis.call('HINCRBY', b .. 'users', uid, 1) == 1
local rev
if first then rev = redis.call('INCR', b .. 'rev') else rev = tonumber(redis.call('GET', b .. 'rev') or '0') end
local online = {}
for i = 3, #ARGV do online[#online + 1] = redis.call('HEXISTS', b .. 'users', ARGV[i]) end
return {first and 1 or 0, rev, online}`;

/** ARGV: node, user id. Returns {went offline 0/1, rev}. */
export const OFFLINE = `
local b, node, uid = KEYS[1], ARGV[1], ARGV[2]
if not redis.call('ZSCORE', b .. 'nodes', node) then return {-1} end
local nu = b .. 'nu:' .. node
local mine = tonumber(redis.call('HGET', nu, uid) or '0')
if mine <= 0 then return {-3} end
if mine == 1 then redis.call('HDEL', nu, uid) else redis.call('HINCRBY', nu, uid, -1) end
if redis.call('HINCRBY', b .. 'users', uid, -1) <= 0 then
  redis.call('HDEL', b .. 'users', uid)
  return {1, redis.call('INCR', b .. 'rev')}
end
return {0, 0}`;

/** Nodes whose heartbeat expired (at most 20 per call). */
export const EXPIRED = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1] .. 'nodes', '-inf', now, 'LIMIT', 0, 20)`;

/**
 * Removes a node and everything it contributed, if its heartbeat expired (or ARGV[2] = '1': the
 * node removing itself at shutdown). The ZREM is the claim: a second reaper finds nothing.
 * Returns false, or {{channel, total, rev}…}, {{channel, user, member JSON, rev}…}, {{user, rev}…}.
 */
export const REAP = `${NOW}
local b, node = KEYS[1], ARGV[1]
local score = redis.call('ZSCORE', b .. 'nodes', node)
if not score then return false end
if ARGV[2] ~= '1' and tonumber(score) > now then return false end
redis.call('ZREM', b .. 'nodes', node)
local channels, members, users = {}, {}, {}
local ns = redis.call('HGETALL', b .. 'ns:' .. node)
for i = 1, #ns, 2 do
  local ch = ns[i]
  local total = redis.call('HINCRBY', b .. 'subs', ch, -tonumber(ns[i + 1]))
  if total <= 0 then redis.call('HDEL', b .. 'subs', ch); total = 0 end
  channels[#channels + 1] = {ch, total, redis.call('INCR', b .. 'rev')}
end
local np = redis.call('HGETALL', b .. 'np:' .. node)
for i = 1, #np, 2 do
  local k = np[i]
  local sep = string.find(k, '\\n', 1, true)
  local ch, uid = string.sub(k, 1, sep - 1), string.sub(k, sep + 1)
  local pm = b .. 'pm:' .. ch
  if redis.call('HINCRBY', pm, uid, -tonumber(np[i + 1])) <= 0 then
    redis.call('HDEL', pm, uid)
    local info = redis.call('HGET', b .. 'pi:' .. ch, uid) or '[]'
    redis.call('HDEL', b .. 'pi:' .. ch, uid)
    members[#members + 1] = {ch, uid, info, redis.call('INCR', b .. 'rev')}
  end
end
local nu = redis.call('HGETALL', b .. 'nu:' .. node)
for i = 1, #nu, 2 do
  local uid = nu[i]
  if redis.call('HINCRBY', b .. 'users', uid, -tonumber(nu[i + 1])) <= 0 then
    redis.call('HDEL', b .. 'users', uid)
    users[#users + 1] = {uid, redis.call('INCR', b .. 'rev')}
  end
end
redis.call('DEL', b .. 'ns:' .. node, b .. 'np:' .. node, b .. 'nu:' .. node)
return {channels, members, users}`;
