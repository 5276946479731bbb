<?php

namespace ProrataAlign;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * A preview that did not come: Redis unreachable, no answer in time, or the task failed.
 * getMessage() is the detail for logs; userMessage() is the sentence to show.
 */
final class PreviewError extends \RuntimeException
{
    public const UNREACHABLE = 'unreachable';
    public const TIMEOUT = 'timeout';
    public const FAILED = 'failed';

    public function __construct(
        public readonly string $reason,
        string $detail,
        ?\Throwable $previous = null
    ) {
        parent::__construct($detail, 0, $previous);
    }

    public function userMessage(?string $language = null): string
    {
        if ($this->reason === self::FAILED) {
            return Lang::format('preview_error_failed', $language, $this->getMessage());
        }

        return Lang::get('preview_error_' . $this->reason, $language);
    }
}
