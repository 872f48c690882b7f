-- The IVR report reads traces by time over all flows.
create index ivr_traces_by_time on ivr_traces (at);
