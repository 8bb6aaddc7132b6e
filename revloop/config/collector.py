"""config/collector.yml: the event collector's channels and write keys, limits, rotation and profile API."""

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingestion.events.settings import CHANNELS
from revloop.config import ConfigError, cached, config_dir, load

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class ChannelConfig(BaseModel):
    """One channel: the environment variable holding the write key its senders use."""

    model_config = ConfigDict(extra="forbid")

    write_key_env: str = Field(pattern=ENV_NAME)


class Limits(BaseModel):
    """Request size limits (Segment's: 32 KB a message, 500 KB and 2,500 messages a batch)."""

    model_config = ConfigDict(extra="forbid")

    max_message_bytes: int = Field(default=32 * 1024, gt=0)
    max_request_bytes: int = Field(default=500 * 1024, gt=0)
    max_batch_messages: int = Field(default=2500, gt=0)


class Rotation(BaseModel):
    """When a channel's open file is finished and renamed into place for ingestion."""

    model_config = ConfigDict(extra="forbid")

    max_file_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    max_file_age_seconds: float = Field(default=60, gt=0)


class ServerSettings(BaseModel):
    """The HTTP server (waitress): worker threads, header size, and how long an idle connection may stay."""

    model_config = ConfigDict(extra="forbid")

    threads: int = Field(default=8, gt=0, le=64)
    max_header_bytes: int = Field(default=16 * 1024, gt=0)
    # a connection that sends nothing for this long (mid-request included) is closed
    channel_timeout_seconds: int = Field(default=30, gt=0)


class ProfileApi(BaseModel):
    """The profile API: the environment variable holding its bearer token."""

    model_config = ConfigDict(extra="forbid")

    token_env: str = Field(default="REVLOOP_PROFILE_API_TOKEN", pattern=ENV_NAME)


class HubSpotWebhookSettings(BaseModel):
    """POST /webhooks/hubspot: the variables holding the app's client secret and the URL HubSpot calls."""

    model_config = ConfigDict(extra="forbid")

    client_secret_env: str = Field(default="HUBSPOT_CLIENT_SECRET", pattern=ENV_NAME)
    # set when a proxy stands in front: HubSpot signs the URL it calls, not the one the collector sees
    public_url_env: str = Field(default="HUBSPOT_WEBHOOK_URL", pattern=ENV_NAME)


class CollectorConfig(BaseModel):
    """The whole of config/collector.yml."""

    model_config = ConfigDict(extra="forbid")

    channels: dict[str, ChannelConfig] = Field(min_length=1)
    limits: Limits = Field(default_factory=Limits)
    rotation: Rotation = Field(default_factory=Rotation)
    server: ServerSettings = Field(default_factory=ServerSettings)
    profile_api: ProfileApi = Field(default_factory=ProfileApi)
    hubspot_webhooks: HubSpotWebhookSettings = Field(default_factory=HubSpotWebhookSettings)

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, channels: dict[str, ChannelConfig]) -> dict[str, ChannelConfig]:
        unknown = sorted(set(channels) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)} (channels: {', '.join(CHANNELS)})")
        return channels

    def write_keys(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Write key -> channel for every channel whose variable is set; a key shared by two is an error."""
        keys: dict[str, str] = {}
        for channel, settings in self.channels.items():
            key = environ.get(settings.write_key_env)
            if not key:
                continue
            if key in keys:
                other = self.channels[keys[key]].write_key_env
                # Names the variables, never the value.
                raise ConfigError(
                    f"collector.yml: channels.{channel}.write_key_env: {settings.write_key_env} holds the "
                    f"same write key as {other}; each channel needs its own"
                )
            keys[key] = channel
        return keys

    def disabled_channels(self, environ: Mapping[str, str]) -> list[str]:
        """Channels whose write key variable is unset, so that they accept nothing."""
        return [c for c, settings in self.channels.items() if not environ.get(settings.write_key_env)]


def load_collector_config(folder: Path | None = None) -> CollectorConfig:
    """config/collector.yml, validated (cached per process for the default folder)."""
    if folder is not None and folder.resolve() != config_dir():
        return load("collector", CollectorConfig, folder)
    return cached("collector", CollectorConfig)
