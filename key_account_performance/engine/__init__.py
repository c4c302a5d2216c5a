"""The KPI engine as plain Python, called by ``key.account.kpi.engine``:
``run.KpiRun`` (one computation), ``gathering.Gathering`` (source data),
``scheduled.ScheduledRun`` (scheduled runs in chunks), ``records`` (the
records behind a value). See ARCHITECTURE.md at the repository top."""
