package dev.fulcrum.http;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs every test of the class once per HTTP listener engine, the engine in a {@code @Parameter String engine} field
 * for {@link ProxyTests#config}. Set-up that starts a node goes in {@code @BeforeParameterizedClassInvocation}
 * methods: a {@code @BeforeAll} method runs once for both engines, before the engine is known.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedClass(name = "engine = {0}")
@ValueSource(strings = {"nio", "pekko"})
@interface OnBothEngines {}
