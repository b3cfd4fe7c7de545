"""A trace of what the real az does to MSAL's token cache, for scripts/shared_login_proofs.py (`writers`).

Loaded by az's Python when this directory is on PYTHONPATH and AZ_CACHE_TRACE names a log file; observes only,
changing nothing az does. One JSON line per event (AzureAD/microsoft-authentication-extensions-for-python:
`msal_extensions/token_cache.py`, `cache_lock.py`, `persistence.py`):

- `stale_lock`: `CrossPlatLock` gave up creating `<cache>.lockfile` after its 5 s and went on to `flock` whatever
  file is at the path (possibly one its holder is removing: two writers then hold "the lock" at once);
- `empty_read`: `_reload_if_necessary` loaded an empty file (another az between the truncate and the write of its
  in-place save) and took it for an empty cache;
- `torn_under_lock`: inside az's lock, the file was empty or did not parse (another writer was rewriting it at
  the same time: the lock did not keep it out);
- `lock` / `unlock`: az holds `CrossPlatLock` from the one to the other (logged just after taking it and just
  before releasing it, so two az holders whose spans overlap were inside the lock at the same time);
- `dropped`: a save, inside az's lock, wrote a cache lacking accounts or refresh tokens the file held just before
  (`keys`: usernames and home account ids), with `synced`/`mtime`: az's last sync time and the file's mtime when
  it last decided whether to reload.
"""
import json
import os
import time

LOG = os.environ.get("AZ_CACHE_TRACE")


def _log(event, **fields):
    with open(LOG, "a") as file:
        file.write(json.dumps(dict(fields, event=event, pid=os.getpid(), time=time.time())) + "\n")


def _keys(cache):
    cache = cache if isinstance(cache, dict) else {}
    return ({entry.get("username") for entry in cache.get("Account", {}).values()}
            | {entry.get("home_account_id") for entry in cache.get("RefreshToken", {}).values()})


def _install():
    from msal_extensions import cache_lock, token_cache

    create = cache_lock.CrossPlatLock._try_to_create_lock_file

    def try_to_create_lock_file(self):
        created = create(self)
        if not created:
            _log("stale_lock", lock=self._lockpath)
        return created

    cache_lock.CrossPlatLock._try_to_create_lock_file = try_to_create_lock_file
    enter, leave = cache_lock.CrossPlatLock.__enter__, cache_lock.CrossPlatLock.__exit__

    def traced_enter(self):
        handle = enter(self)
        _log("lock", lock=self._lockpath)
        return handle

    def traced_exit(self, *args):
        _log("unlock", lock=self._lockpath)
        return leave(self, *args)

    cache_lock.CrossPlatLock.__enter__ = traced_enter
    cache_lock.CrossPlatLock.__exit__ = traced_exit

    cls = token_cache.PersistedTokenCache
    reload_if_necessary = cls._reload_if_necessary

    def traced_reload(self):
        before = self._last_sync
        try:
            self._trace_mtime = self._persistence.time_last_modified()
        except Exception:  # noqa: BLE001 - a missing file; the original handles it
            self._trace_mtime = None
        reload_if_necessary(self)
        if self._last_sync != before and not self._cache:
            _log("torn_under_lock" if getattr(self, "_trace_locked", False) else "empty_read",
                 synced=before, mtime=self._trace_mtime)

    cls._reload_if_necessary = traced_reload
    modify = cls.modify

    def traced_modify(self, credential_type, old_entry, new_key_value_pairs=None):
        persistence = self._persistence
        save = persistence.save

        def traced_save(content):
            try:
                with open(persistence.get_location()) as file:
                    held = _keys(json.loads(file.read()))
            except FileNotFoundError:
                held = set()
            except (OSError, ValueError):
                held = set()
                _log("torn_under_lock", synced=self._last_sync, mtime=getattr(self, "_trace_mtime", None))
            dropped = held - _keys(json.loads(content))
            if dropped:
                _log("dropped", keys=sorted(key for key in dropped if key), synced=self._last_sync,
                     mtime=getattr(self, "_trace_mtime", None))
            save(content)

        persistence.save = traced_save
        self._trace_locked = True  # modify reloads and saves inside CrossPlatLock
        try:
            modify(self, credential_type, old_entry, new_key_value_pairs)
        finally:
            self._trace_locked = False
            del persistence.save

    cls.modify = traced_modify


if LOG:
    try:
        _install()
    except ImportError:  # not az's Python
        pass
