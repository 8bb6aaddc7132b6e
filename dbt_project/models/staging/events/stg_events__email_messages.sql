{{ stg_event_messages('email') }}
