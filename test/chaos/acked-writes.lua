-- sysbench write load whose acknowledged ids can be checked afterwards.
-- Each event is, in turn, a prepared autocommit INSERT or a BEGIN / 2 prepared INSERTs / COMMIT
-- transaction. Only after the OK of the autocommit write or of the COMMIT does it print "ack ID"
-- (ids are never reused), so the output lists exactly the writes the client saw acknowledged.
-- A lost connection ends the run (sysbench 1.0.20 crashes when it reconnects by itself with
-- --mysql-ignore-errors, even running oltp_write_only): the test starts a new run, with new ids.

sysbench.cmdline.options = {
  first_id = {"First id; thread t uses ids from first_id + t * 10000000 up", 1},
  table_name = {"Table (id BIGINT PRIMARY KEY, w INT NOT NULL)", "w"},
}

local STRIDE = 10000000

local function prepare_statements()
  insert = con:prepare(string.format("INSERT INTO %s (id, w) VALUES (?, ?)", sysbench.opt.table_name))
  ins_id = insert:bind_create(sysbench.sql.type.BIGINT)
  ins_w = insert:bind_create(sysbench.sql.type.INT)
  insert:bind_param(ins_id, ins_w)
end

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  next_id = sysbench.opt.first_id + sysbench.tid * STRIDE
  turn = 0
  -- Line-buffered: each "ack" reaches the test as soon as it is written.
  io.stdout:setvbuf("line")
  prepare_statements()
end

function thread_done()
  io.stdout:flush()
  con:disconnect()
end

local function ack(...)
  for _, id in ipairs({...}) do io.stdout:write(string.format("ack %d\n", id)) end
end

local function insert_row(id)
  ins_id:set(id)
  ins_w:set(sysbench.tid)
  insert:execute()
end

function event()
  turn = turn + 1
  local id = next_id
  if turn % 2 == 0 then
    next_id = next_id + 2
    con:query("BEGIN")
    insert_row(id)
    insert_row(id + 1)
    con:query("COMMIT")
    ack(id, id + 1)
  else
    next_id = next_id + 1
    insert_row(id)
    ack(id)
  end
end
