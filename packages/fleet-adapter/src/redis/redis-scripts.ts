/**
 * The Lua scripts of the Redis budget. Every change to a budget's state happens inside one of
 * them, so each step is atomic across all processes and machines that share the Redis.
 *
 * Keys of one budget (`<prefix><key>:<suffix>`):
 * - `leases`: ZSET lease id -> expiry (Redis server time, ms). Expired members are purged at the
 *   start of every script, so a crashed holder's leases stop counting once their TTL passed.
 * - `waiters`: ZSET ticket id -> arrival number (from `seq`). One ticket per queued acquire.
 * - `waiters-exp`: ZSET ticket id -> expiry; a crashed waiter stops blocking the line.
 * - `limit`: the limit every process obeys (0 = no cap).
 * - `cooldown`: the shared cooldown deadline (server time, ms).
 * - `seq`: the arrival counter.
 * Keys of the whole prefix: `epoch` (a random id written when the data set was created) and
 * `recovering` (set for one lease TTL after the data set was lost, e.g. a Redis restart without
 * persistence: no grants until the holders re-registered their live leases).
 *
 * Server time (`TIME`) is used for every expiry, so machines whose clocks disagree still agree
 * on when a lease expires.
 *
 * @internal
 */
export const SYNC_SCRIPT = `
local leases, waiters, waitersExp, limitKey, cooldownKey, seqKey, epochKey, recoveringKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]

local epoch = redis.call('GET', epochKey)
if epoch ~= ARGV[1] then
  return {2, epoch or ''}
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local leaseTtl = tonumber(ARGV[2])
local waiterTtl = tonumber(ARGV[3])
local idleTtl = tonumber(ARGV[4])
local requestedLimit = tonumber(ARGV[5])
local limitMode = ARGV[6]
local cooldownIn = ARGV[7]
local channel = ARGV[8]
local message = ARGV[9]

local cursor = 10
local function list()
  local count = tonumber(ARGV[cursor])
  local out = {}
  for index = 1, count do out[index] = ARGV[cursor + index] end
  cursor = cursor + count + 1
  return out
end
local held = list()
local releases = list()
local removes = list()
local ensure = list()
local checks = list()

local function zremAll(key, members)
  for start = 1, #members, 500 do
    redis.call('ZREM', key, unpack(members, start, math.min(start + 499, #members)))
  end
end

local wake = false

-- Expired leases and waiters stop counting: a crashed process frees what it held.
if redis.call('ZREMRANGEBYSCORE', leases, '-inf', now) > 0 then wake = true end
local dead = redis.call('ZRANGEBYSCORE', waitersExp, '-inf', now)
if #dead > 0 then
  zremAll(waiters, dead)
  zremAll(waitersExp, dead)
  wake = true
end

-- Live leases of this process: refreshed, or re-registered after the data set was lost.
for _, id in ipairs(held) do redis.call('ZADD', leases, now + leaseTtl, id) end

for _, id in ipairs(releases) do
  if redis.call('ZREM', leases, id) > 0 then wake = true end
end
if #removes > 0 then
  zremAll(waiters, removes)
  zremAll(waitersExp, removes)
  wake = true
end

-- Tickets join the line in the order given; one already in line keeps its place. A ticket
-- found among the leases was granted by an earlier call whose answer was lost: it is reported
-- as granted again instead of joining the line a second time.
local granted = {}
local isGranted = {}
for _, id in ipairs(ensure) do
  if redis.call('ZSCORE', leases, id) then
    if not isGranted[id] then granted[#granted + 1] = id; isGranted[id] = true end
  else
    if not redis.call('ZSCORE', waiters, id) then
      redis.call('ZADD', waiters, redis.call('INCR', seqKey), id)
    end
    redis.call('ZADD', waitersExp, now + waiterTtl, id)
  end
end

local limit = tonumber(redis.call('GET', limitKey))
if limit == nil or limitMode == 'set' then
  if limit ~= requestedLimit then wake = true end
  limit = requestedLimit
  redis.call('SET', limitKey, limit)
elseif limitMode == 'open' and requestedLimit ~= limit and requestedLimit ~= 0 and
    (limit == 0 or requestedLimit < limit) then
  -- Two configs that disagree: the stricter limit wins, whichever process came first.
  limit = requestedLimit
  redis.call('SET', limitKey, limit)
end

local cooldown = tonumber(redis.call('GET', cooldownKey) or '0')
if cooldownIn ~= '' then
  local wanted = now + tonumber(cooldownIn)
  if wanted > cooldown then
    cooldown = wanted
    redis.call('SET', cooldownKey, cooldown, 'PX', math.max(1, wanted - now))
    wake = true
  end
end
if cooldown <= now then cooldown = 0 end

local recoveringMs = redis.call('PTTL', recoveringKey)
if recoveringMs < 0 then recoveringMs = 0 end

-- FIFO by arrival across processes: only tickets whose place in line is inside the free
-- slots may take a lease. Ranks are read before any ticket leaves the line; a ticket leaving
-- lowers both the ranks behind it and the free slots by one, so the comparison stays valid.
if cooldown == 0 and recoveringMs == 0 then
  local free = math.huge
  if limit > 0 then free = limit - redis.call('ZCARD', leases) end
  local winners = {}
  for _, id in ipairs(checks) do
    if not isGranted[id] then
      if redis.call('ZSCORE', leases, id) then
        granted[#granted + 1] = id; isGranted[id] = true
      else
        local rank = redis.call('ZRANK', waiters, id)
        if rank and rank < free then winners[#winners + 1] = id end
      end
    end
  end
  for _, id in ipairs(winners) do
    redis.call('ZREM', waiters, id)
    redis.call('ZREM', waitersExp, id)
    redis.call('ZADD', leases, now + leaseTtl, id)
    granted[#granted + 1] = id; isGranted[id] = true
  end
end

local active = redis.call('ZCARD', leases)
local waiting = redis.call('ZCARD', waiters)

-- When the next lease or waiter expires, so a process that waits can look again then
-- instead of polling: an expiry frees a slot without anybody publishing a release.
local nextExpiry = -1
local firstLease = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
if firstLease[2] then nextExpiry = tonumber(firstLease[2]) - now end
local firstWaiter = redis.call('ZRANGE', waitersExp, 0, 0, 'WITHSCORES')
if firstWaiter[2] then
  local inMs = tonumber(firstWaiter[2]) - now
  if nextExpiry < 0 or inMs < nextExpiry then nextExpiry = inMs end
end

for _, key in ipairs({leases, waiters, waitersExp, limitKey, seqKey}) do
  redis.call('PEXPIRE', key, idleTtl)
end

if wake and waiting > 0 then redis.call('PUBLISH', channel, message) end

local reply = {1, epoch, limit, active, waiting, cooldown, now, nextExpiry, recoveringMs}
for _, id in ipairs(granted) do reply[#reply + 1] = id end
return reply
`;

/**
 * Reads the data set's epoch, creating it when missing. A caller that knew another epoch (or
 * found none although it had seen one) is looking at a data set that was lost, so it starts
 * the recovery window: no grants for one lease TTL, time for every live holder to re-register.
 *
 * KEYS: epoch, recovering. ARGV: known epoch ('' when none), new epoch, recovery window ms.
 *
 * @internal
 */
export const EPOCH_SCRIPT = `
local epoch = redis.call('GET', KEYS[1])
local lost = false
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[1], epoch)
  lost = ARGV[1] ~= ''
elseif ARGV[1] ~= '' and ARGV[1] ~= epoch then
  lost = true
end
if lost then redis.call('SET', KEYS[2], '1', 'PX', ARGV[3], 'NX') end
return {epoch, lost and 1 or 0}
`;

/** The reply of {@link SYNC_SCRIPT}, decoded. @internal */
export interface SyncReply {
  /** 1 = done; 2 = the epoch changed (data set lost), nothing was done. */
  status: 1 | 2;
  epoch: string;
  limit: number;
  /** Leases held across all processes. */
  active: number;
  /** Tickets in line across all processes. */
  waiting: number;
  /** Server-time deadline of the shared cooldown; 0 when none. */
  cooldownUntil: number;
  /** Server time of the call, ms. */
  serverNow: number;
  /** Ms until the next lease or ticket expires; -1 when none. */
  nextExpiryMs: number;
  /** Ms left in the recovery window after a lost data set; 0 when none. */
  recoveringMs: number;
  granted: string[];
}

/** Decodes a raw {@link SYNC_SCRIPT} reply. @internal */
export function decodeSyncReply(raw: unknown): SyncReply {
  const values = raw as Array<number | string>;
  if (Number(values[0]) === 2) {
    return {
      status: 2,
      epoch: String(values[1] ?? ''),
      limit: 0,
      active: 0,
      waiting: 0,
      cooldownUntil: 0,
      serverNow: 0,
      nextExpiryMs: -1,
      recoveringMs: 0,
      granted: [],
    };
  }
  return {
    status: 1,
    epoch: String(values[1]),
    limit: Number(values[2]),
    active: Number(values[3]),
    waiting: Number(values[4]),
    cooldownUntil: Number(values[5]),
    serverNow: Number(values[6]),
    nextExpiryMs: Number(values[7]),
    recoveringMs: Number(values[8]),
    granted: values.slice(9).map(String),
  };
}
