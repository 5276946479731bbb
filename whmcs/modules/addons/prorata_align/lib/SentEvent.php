<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** What became of one event: sent to Redis, or kept in the outbox for the worker to relay. */
final class SentEvent
{
    public const SENT = 'sent';
    public const OUTBOX = 'outbox';

    public function __construct(
        public readonly string $status,
        public readonly string $task,
        public readonly string $eventId,
        public readonly array $kwargs,
        public readonly string $transport,
        public readonly ?string $error = null
    ) {
    }

    public function wasSent(): bool
    {
        return $this->status === self::SENT;
    }

    public function toArray(): array
    {
        return [
            'status' => $this->status,
            'task' => $this->task,
            'event_id' => $this->eventId,
            'kwargs' => $this->kwargs,
            'transport' => $this->transport,
            'error' => $this->error,
        ];
    }
}
