/* tests.h - the list of every C unit test, one X-macro entry each. */
#ifndef PRC_TEST_TESTS_H
#define PRC_TEST_TESTS_H

/*
 * Each entry names a TEST_IMPL in the file of its unit (test_<unit>.c);
 * main.c runs them in this order.  Add a test here and in its file.
 */
#define TEST_LIST(XX)                                                         \
    /* errors.c */                                                            \
    XX(errors_names_and_messages)                                             \
    XX(errors_ok_and_unknown_codes)                                           \
    XX(errors_classes)                                                        \
    /* clock.c */                                                             \
    XX(clock_injectable)                                                      \
    XX(clock_deadline_after)                                                  \
    /* framer.c */                                                            \
    XX(framer_each_type)                                                      \
    XX(framer_max_reply_per_reply)                                            \
    XX(framer_byte_boundaries)                                                \
    XX(framer_two_chunks)                                                     \
    XX(framer_nested)                                                         \
    XX(framer_nil_and_empty)                                                  \
    XX(framer_idle)                                                           \
    XX(framer_bulk_limit)                                                     \
    XX(framer_bulk_limit_huge)                                                \
    XX(framer_array_limit)                                                    \
    XX(framer_depth_limit)                                                    \
    XX(framer_deep_10000)                                                     \
    XX(framer_invalid_type)                                                   \
    XX(framer_missing_crlf)                                                   \
    XX(framer_bad_integers)                                                   \
    XX(framer_bad_in_run)                                                     \
    XX(framer_int64_extremes)                                                 \
    XX(framer_int_beyond_64_bits)                                             \
    XX(framer_long_line)                                                      \
    XX(framer_limit_argument)                                                 \
    XX(framer_reply_at)                                                       \
    /* breaker.c */                                                           \
    XX(breaker_run_of_events_opens)                                           \
    XX(breaker_in_flight_together_count_once)                                 \
    XX(breaker_success_resets)                                                \
    XX(breaker_rate_opens)                                                    \
    XX(breaker_rate_needs_minimum_calls)                                      \
    XX(breaker_rate_window_slides)                                            \
    XX(breaker_rate_counts_successes_at_admission)                            \
    XX(breaker_rate_off)                                                      \
    XX(breaker_rate_bucket_saturates)                                         \
    XX(breaker_closing_clears_the_window)                                     \
    XX(breaker_open_time_doubles)                                             \
    XX(breaker_open_level_saturates)                                          \
    XX(breaker_open_refuses_until_recovery)                                   \
    XX(breaker_half_open_ramp)                                                \
    XX(breaker_half_open_ramp_doubles)                                        \
    XX(breaker_half_open_failure_reopens)                                     \
    XX(breaker_neutral_frees_probe)                                           \
    XX(breaker_stale_epoch_ignored)                                           \
    XX(breaker_non_probe_in_half_open)                                        \
    XX(breaker_no_probe)                                                      \
    XX(breaker_probe_never_reports)                                           \
    XX(breaker_probe_lost_counts_from_last_admission)                         \
    XX(breaker_probe_timeout_without_limits)                                  \
    XX(breaker_seed_settings)                                                 \
    XX(breaker_recovery_zero)                                                 \
    XX(breaker_thresholds_clamped)                                            \
    XX(breaker_disabled)                                                      \
    XX(breaker_counts)                                                        \
    XX(breaker_threads)                                                       \
    /* retry.c */                                                             \
    XX(retry_backoff_bounds)                                                  \
    XX(retry_backoff_large_attempts)                                          \
    XX(retry_random_seeded)                                                   \
    XX(retry_jitter_spread)                                                   \
    XX(retry_random_thread_local)                                             \
    XX(retry_set_at_runtime)                                                  \
    XX(retry_set_while_calls_fail)                                            \
    /* cmdtable.c */                                                          \
    XX(cmdtable_readonly)                                                     \
    XX(cmdtable_case_insensitive)                                             \
    XX(cmdtable_every_entry_found)                                            \
    XX(cmdtable_subcommands)                                                  \
    XX(cmdtable_memo)                                                         \
    XX(cmdtable_blocking_last_arg)                                            \
    XX(cmdtable_blocking_first_arg)                                           \
    XX(cmdtable_xread_block)                                                  \
    XX(cmdtable_wait)                                                         \
    XX(cmdtable_unknown)                                                      \
    XX(cmdtable_argvlen)                                                      \
    /* cmdspec.c */                                                           \
    XX(cmdspec_lookup)                                                        \
    XX(cmdspec_subcommands)                                                   \
    XX(cmdspec_every_entry_found)                                             \
    XX(cmdspec_classes)                                                       \
    XX(cmdspec_drives_the_call_rules)                                         \
    XX(cmdspec_keys_index_range)                                              \
    XX(cmdspec_keys_keynum)                                                   \
    XX(cmdspec_keys_keyword)                                                  \
    XX(cmdspec_keys_sort_migrate)                                             \
    XX(cmdspec_keys_subcommands)                                              \
    XX(cmdspec_keys_not_keys)                                                 \
    XX(cmdspec_keys_bad_argv)                                                 \
    XX(cmdspec_keys_cap)                                                      \
    XX(cmdspec_keys_synthetic)                                                \
    XX(cmdspec_vocabularies)                                                  \
    /* slot.c */                                                              \
    XX(slot_crc16_and_tags)                                                   \
    XX(slot_of_commands)                                                      \
    /* cmdtable.c and call.c: connection-state commands */                    \
    XX(cmdstate_classes)                                                      \
    XX(cmdstate_others)                                                       \
    XX(cmdstate_close_after_call)                                             \
    /* pool.c */                                                              \
    XX(pool_new_validation)                                                   \
    XX(pool_new_copies_strings)                                               \
    XX(pool_call_success)                                                     \
    XX(pool_pipeline)                                                         \
    XX(pool_exhaustion)                                                       \
    XX(pool_disconnect)                                                       \
    XX(pool_timeout_capped_by_deadline)                                       \
    XX(pool_threads)                                                          \
    XX(pool_close_wakes_waiter)                                               \
    XX(pool_close_wakes_reader)                                               \
    XX(pool_close_during_handshake)                                           \
    XX(pool_stale_replaced)                                                   \
    XX(pool_conn_events)                                                      \
    XX(pool_stray_bytes_replaced)                                             \
    XX(pool_health_check)                                                     \
    XX(pool_health_check_fails)                                               \
    XX(pool_hooks)                                                            \
    XX(pool_eintr_resumes)                                                    \
    XX(pool_breaker_integration)                                              \
    XX(pool_breaker_blocking_not_probe)                                       \
    XX(pool_fork)                                                             \
    XX(pool_conn_user)                                                        \
    XX(pool_step_driver)                                                      \
    XX(pool_round_trip_opens)                                                 \
    XX(pool_round_trip_answers)                                               \
    XX(pool_step_timeouts)                                                    \
    XX(pool_step_backoff)                                                     \
    XX(pool_refused_rides_then_fails_fast)                                    \
    XX(pool_refused_ride_succeeds)                                            \
    XX(pool_step_nonblock_pool)                                               \
    XX(pool_wait_slice)                                                       \
    XX(pool_metrics)                                                          \
    XX(pool_pin)                                                              \
    XX(pool_pin_stray_bytes)                                                  \
    XX(pool_idle_buffers_trimmed)                                             \
    /* conn.c, transport.c: one connection on a config, no pool */            \
    XX(conn_state_machine)                                                    \
    XX(conn_faulty_transport)                                                 \
    XX(conn_out_of_step)                                                      \
    XX(conn_stream)                                                           \
    XX(conn_bytes_before_handshake)                                           \
    XX(conn_open_refused)                                                     \
    XX(conn_open_resolve)                                                     \
    XX(conn_open_handshake)                                                   \
    XX(conn_open_unix)                                                        \
    XX(conn_reply_limit)                                                      \
    /* call.c, drive.c: calls through a pool (test_call.c) */                 \
    XX(call_refused)                                                          \
    XX(call_refused_localhost)                                                \
    XX(call_resolve_localhost)                                                \
    XX(call_resolve_abandoned)                                                \
    XX(call_resolve_pool_closed)                                              \
    XX(call_resolve_error)                                                    \
    XX(call_hung_timeout)                                                     \
    XX(call_drip_timeout)                                                     \
    XX(call_slow_ok)                                                          \
    XX(call_write_timeout)                                                    \
    XX(call_blocking_deadline)                                                \
    XX(call_garbage)                                                          \
    XX(call_extra_bytes)                                                      \
    XX(call_greeting_not_a_reply)                                             \
    XX(call_eof_mid_reply)                                                    \
    XX(call_retry_readonly)                                                   \
    XX(call_convert_progress)                                                 \
    XX(call_no_retry_write)                                                   \
    XX(call_no_retry_flag)                                                    \
    XX(call_retry_attempts_bounded)                                           \
    XX(call_retry_on_timeout_read)                                            \
    XX(call_retry_on_timeout_connect)                                         \
    XX(call_handshake_order)                                                  \
    /* credentials providers (test_creds.c) */                                \
    XX(creds_every_new_connection)                                            \
    XX(creds_no_password)                                                     \
    XX(creds_provider_fails)                                                  \
    XX(creds_answer_later)                                                    \
    XX(call_auth_error)                                                       \
    XX(call_handshake_errors)                                                 \
    XX(call_handshake_extra_bytes)                                            \
    XX(call_reply_limit_bulk)                                                 \
    XX(call_reply_limit_elements)                                             \
    XX(call_reply_limit_total)                                                \
    XX(call_reply_limit_per_reply)                                            \
    XX(call_big_reply)                                                        \
    XX(call_unix_socket)                                                      \
    XX(call_unix_errors)                                                      \
    XX(call_real_redis)                                                       \
    /* tls.c */                                                               \
    XX(tls_ok)                                                                \
    XX(tls_server_name)                                                       \
    XX(tls_untrusted)                                                         \
    XX(tls_client_files)                                                      \
    XX(tls_against_plain_server)                                              \
    /* sub.c: pub/sub on a connection of its own */                           \
    XX(sub_messages)                                                          \
    XX(sub_shapes)                                                            \
    XX(sub_out_of_step)                                                       \
    XX(sub_refused_backs_off)                                                 \
    XX(sub_reconnect_resubscribes)                                            \
    XX(sub_move)                                                              \
    XX(sub_move_before_anything_confirmed)                                    \
    XX(sub_move_while_backing_off)                                            \
    XX(sub_resubscribe_refused)                                               \
    XX(sub_idle_health_checks)                                                \
    XX(sub_health_ping_refused)                                               \
    XX(sub_unanswered_ping_is_lost)                                           \
    XX(sub_hung_server)                                                       \
    XX(sub_connect_round_trip_first)                                          \
    XX(sub_connect_timeout)                                                   \
    XX(sub_close_wakes_reader)                                                \
    XX(sub_request_wakes_reader)                                              \
    XX(sub_fork)                                                              \
    XX(sub_sets)                                                              \
    XX(sub_ping_connects)                                                     \
    XX(sub_order)                                                             \
    XX(sub_shards_by_slot)                                                    \
    XX(sub_many_names)                                                        \
    XX(sub_bad_options)                                                       \
    XX(sub_alloc)                                                             \
    /* subset.c, subparse.c: a subscriber's sets and pushed replies */        \
    XX(subset_order)                                                          \
    XX(subset_alloc)                                                          \
    XX(subparse_push)                                                         \
    XX(subparse_monitor)                                                      \
    /* writer.c */                                                            \
    XX(writer_integers)                                                       \
    XX(writer_commands)                                                       \
    XX(writer_huge_lengths)                                                   \
    XX(writer_matches_hiredis)                                                \
    XX(writer_buffer_growth)                                                  \
    XX(writer_alloc_failure)                                                  \
    XX(writer_handshake)                                                      \
    /* allocation failures (failalloc.c) */                                   \
    XX(alloc_wrapper_works)                                                   \
    XX(alloc_pool_new)                                                        \
    XX(alloc_pool_call)

#endif /* PRC_TEST_TESTS_H */
