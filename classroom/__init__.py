"""A classroom start: N Streamlit workers behind HAProxy, one machine serving a whole class.

`python -m classroom --workers N --host HOST --port PORT` (README, "Classroom").
`hosts.py` decides which names the class may browse to, `haproxy.py` writes the proxy's
configuration, `launch.py` starts, watches and stops the processes; `__main__.py` is the
command line. Nothing here imports Streamlit: the workers are `streamlit run` processes.
"""
