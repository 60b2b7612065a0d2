// The Lua scripts that make the Redis store's fenced operations atomic (a script runs
// alone on the server: no other client's command lands between its reads and writes).
// Key layout, under the configured prefix P:
//   P call:<id>      hash owner, version, ended ("1"/"0"), data (the encoded record)
//   P owned:<owner>  set of the live call ids an owner holds
//   P lease:<owner>  the lease token, with the lease TTL
//   P fenced:<owner> set once a node is declared dead; its lease can never return
//   P node:<owner>   NodeInfo JSON; P nodes: set of owner ids
//   P takeover:<owner> the claimer taking a dead node over, with a TTL

/** KEYS: call, lease:owner, owned:owner. ARGV: owner, token, version, ended, data, endedTtlMs, id. */
export const PUT = `
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return {'lease'} end
local cur = redis.call('HMGET', KEYS[1], 'owner', 'version', 'ended')
if cur[1] then
  if cur[1] ~= ARGV[1] then return {'owner', cur[1], cur[2]} end
  if cur[3] == '1' then return {'ended', cur[1], cur[2]} end
  if tonumber(cur[2]) >= tonumber(ARGV[3]) then return {'version', cur[1], cur[2]} end
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'version', ARGV[3], 'ended', ARGV[4], 'data', ARGV[5])
if ARGV[4] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('SREM', KEYS[3], ARGV[7])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('SADD', KEYS[3], ARGV[7])
end
return {'ok'}
`;

/** KEYS: call, fenced:from, lease:claimer, owned:from, owned:claimer. ARGV: from, claimer, token, id. */
export const CLAIM = `
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return false end
local cur = redis.call('HMGET', KEYS[1], 'owner', 'version', 'ended', 'data')
if not cur[1] or cur[1] ~= ARGV[1] or cur[3] == '1' then return false end
local v = tonumber(cur[2]) + 1
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'version', v)
redis.call('SREM', KEYS[4], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[4])
return {tostring(v), cur[4]}
`;

/** KEYS: lease, fenced. ARGV: token, ttlMs. */
export const RENEW = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 'fenced' end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 'renewed'
end
return 'lost'
`;

/** KEYS: lease, fenced, node, nodes. ARGV: token, ttlMs, node JSON, owner. */
export const REACQUIRE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[4])
return 1
`;

/** KEYS: lease, fenced. ARGV: marker TTL ms. */
export const FENCE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return 1
`;

/** KEYS: takeover lock. ARGV: claimer, ttlMs. */
export const LOCK = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** KEYS: takeover lock (or lease). ARGV: expected value. */
export const DELETE_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;
