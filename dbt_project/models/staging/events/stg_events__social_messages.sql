{{ stg_event_messages('social') }}
