{{ stg_event_messages('ads') }}
