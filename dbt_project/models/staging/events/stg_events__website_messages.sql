{{ stg_event_messages('website') }}
