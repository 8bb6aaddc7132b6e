{{ stg_event_messages('offline') }}
